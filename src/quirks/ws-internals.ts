/**
 * The one reliance on a dependency's undeclared API, kept beside the Node quirks (and tested with
 * them in test/unit/quirks/), in its own file so that only inspect mode loads ws.
 */
import * as ws from 'ws';

/** The slice of ws's Receiver (a Writable) used for capture. */
export interface FrameReceiver {
  write(chunk: Buffer): boolean;
  end(): void;
  writableLength: number;
  on(event: 'message', cb: (data: Buffer, isBinary: boolean) => void): this;
  on(event: 'conclude', cb: (code: number, reason: Buffer) => void): this;
  on(event: 'ping' | 'pong', cb: (data: Buffer) => void): this;
  on(event: 'error', cb: (err: Error) => void): this;
}
export type ReceiverCtor = new (options: Record<string, unknown>) => FrameReceiver;
export interface Deflate {
  accept(configurations: unknown[]): unknown;
  cleanup(): void;
}
export type DeflateCtor = new (options: Record<string, unknown>) => Deflate;

/** ws exports its frame parser and deflate extension (wrapper.mjs); its typings do not declare them. */
export const wsInternals = ws as unknown as { Receiver: ReceiverCtor; PerMessageDeflate: DeflateCtor };
