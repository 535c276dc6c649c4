import type { ClientIdentity } from './identity.js';
import type { Destination } from './destination.js';
import type { ErrorCode } from './error-table.js';

export type Verdict = 'allow' | 'deny';
export type Enforcement = 'enforce' | 'report';
export type Phase = 'host' | 'ip';
/** What the SNI check does with a tunnel whose TLS server name is not its CONNECT host. */
export type SniCheck = 'enforce' | 'report' | 'off';

/** What policy said and why; a plain value that travels into the log line and the 403 body. */
export interface Decision {
  verdict: Verdict;
  /** The rule that decided: a config rule id, "--allow[0]", "connect-ports", "private-address", "default". */
  ruleId: string;
  phase: Phase;
  /**
   * The error code of a denial made by a built-in guard (address_denied, port_denied,
   * loop_denied); a rule's denial has none and is policy_denied. A rule id is a user's name and
   * never picks a code, so a rule called "self" is not a proxy loop.
   */
  code?: ErrorCode;
  reason: string;
  /** "report": the verdict is logged (as would-deny) but not enforced. */
  enforcement: Enforcement;
  /** How a denial is fixed; empty for allows. */
  hint?: string;
  /** Set once the name was resolved: the address the decision was about. */
  address?: string;
  /**
   * A report-mode denial met on the way to this allow. It is what gets logged (as would-deny)
   * once the request is finally allowed; never enforced.
   */
  reported?: Decision;
  /** For inspect mode: what to do with an allowed TLS connection. */
  inspect?: 'intercept' | 'passthrough';
  /** For inspect mode: http1 holds an intercepted connection to HTTP/1.1 on both sides. */
  alpn?: 'auto' | 'http1';
  /** Forward and mtls: the deciding rule's SNI check, instead of the proxy's (sni.check). */
  sniCheck?: SniCheck;
  /** Forward and mtls: the deciding rule's word on whether the tunnel must carry TLS. */
  requireTls?: boolean;
}

export interface RequestFacts {
  dest: Destination;
  identity: ClientIdentity;
  /** CONNECT, or the method of an absolute-URI request. */
  method: string;
}
