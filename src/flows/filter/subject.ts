/** Header fields in wire order (the same shape as a Flow's). */
export type HeaderFields = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * What a filter reads from a flow. A plain interface (not the Flow class of the proxy) so the
 * matcher runs anywhere, a browser included; src/flows/flow-subject.ts makes one from a Flow.
 */
export interface FilterSubject {
  method: string;
  /** Absolute URL. */
  url: string;
  host: string;
  status: number | null;
  requestHeaders: HeaderFields;
  responseHeaders: HeaderFields | null;
  identity: string | null;
  client: string;
  verdict: 'allowed' | 'denied' | 'would-deny' | null;
  ruleId: string | null;
  protocol: 'h1' | 'h2' | 'ws' | 'tunnel';
  errored: boolean;
  passthrough: boolean;
  imported: boolean;
  /**
   * The body as lower-case text (decoded from its Content-Encoding), or null when there is none.
   * May throw BodyPending when the text is not ready: the caller decodes it and asks again.
   */
  bodyLower(which: 'request' | 'response'): string | null;
}

/** Thrown by FilterSubject.bodyLower when the body still has to be decoded. */
export class BodyPending extends Error {
  constructor(readonly which: 'request' | 'response') {
    super(`the ${which} body is not decoded yet`);
  }
}
