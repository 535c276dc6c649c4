/** Who is asking: the outcome of the identify step, used by policy and written to every log line. */
export interface ClientIdentity {
  kind: 'anonymous' | 'user' | 'certificate';
  /** User name, SPIFFE/URI SAN, DNS SAN or subject CN; null when anonymous. */
  principal: string | null;
  attributes: Record<string, string>;
}

export const ANONYMOUS: ClientIdentity = Object.freeze({ kind: 'anonymous', principal: null, attributes: {} });
