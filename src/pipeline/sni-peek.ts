import type { Duplex } from 'node:stream';
import { parseClientHello } from '../listeners/client-hello.js';
import { TLS_HANDSHAKE } from '../listeners/tls-front.js';
import type { DeadlineQueue, Expiring } from './deadline-queue.js';

/** The largest TLS record (RFC 8446 section 5.1: 2^14 bytes of plaintext) and its 5-byte header. */
export const PEEK_MAX_BYTES = 5 + 16_384;

/** What the first bytes of a tunnel turned out to be. */
export type FirstBytes =
  | { kind: 'hello'; sni: string | undefined }
  /** The first byte is not a TLS handshake record. */
  | { kind: 'not-tls' }
  /** Nothing arrived within the time bound (a protocol where the server speaks first), or the client ended without a byte. */
  | { kind: 'silent' }
  /** A TLS record that is not a ClientHello this check can read within its bounds. */
  | { kind: 'unreadable'; why: string }
  /** The client's connection closed or failed during the peek. */
  | { kind: 'gone' };

export interface Peeked {
  seen: FirstBytes;
  /** Every byte read, in the chunks they were read in (`head` first): these, not a copy, go on to the destination. */
  chunks: Buffer[];
  bytes: number;
}

/**
 * Reads a tunnel's first bytes up to the end of its first TLS record (at most PEEK_MAX_BYTES)
 * or until they are clearly not TLS, within the time bound of `deadlines` (one shared timer).
 * The bytes are kept as read; only when the first record came in several reads are they joined,
 * for the parser alone. The socket is left paused with nothing unread, for the tunnel to pipe.
 */
export class HelloPeek implements Expiring {
  readonly done: Promise<Peeked>;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  /** Bytes needed before parsing is worth trying: the record header, then the whole record. */
  private need = 5;
  private settled = false;
  private resolve!: (p: Peeked) => void;

  constructor(
    private readonly socket: Duplex,
    head: Buffer,
    private readonly deadlines: DeadlineQueue<HelloPeek>,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
    if (head.length) this.take(head);
    if (this.settled) return;
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('close', this.onGone);
    socket.once('error', this.onGone);
    deadlines.add(this);
    // The HTTP server that parsed the CONNECT leaves the socket paused.
    socket.resume();
  }

  /** The time bound passed: nothing at all is a silent client; a part of a record cannot be checked. */
  expire(): void {
    this.settle(this.bytes === 0 ? { kind: 'silent' } : { kind: 'unreadable', why: `the ClientHello was not complete after ${this.deadlines.delayMs} ms` });
  }

  /** For a drain: the client side is cut, which settles the peek as gone. */
  destroy(): void {
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => this.take(chunk);
  private readonly onEnd = (): void => this.settle(this.bytes === 0 ? { kind: 'silent' } : { kind: 'unreadable', why: 'the client ended in the middle of its first record' });
  private readonly onGone = (): void => this.settle({ kind: 'gone' });

  private take(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.chunks[0]![0] !== TLS_HANDSHAKE) return this.settle({ kind: 'not-tls' });
    if (this.bytes < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
    if (this.need === 5) {
      const len = buf.readUInt16BE(3);
      if (len > PEEK_MAX_BYTES - 5) return this.settle({ kind: 'unreadable', why: `its first TLS record claims ${len} bytes, more than TLS allows` });
      this.need = 5 + len;
      if (this.bytes < this.need) return;
    }
    const hello = parseClientHello(buf);
    if (hello === undefined) return this.settle({ kind: 'unreadable', why: 'its first TLS record is not a ClientHello' });
    if (hello === 'incomplete') return this.settle({ kind: 'unreadable', why: 'its ClientHello does not fit in one TLS record' });
    this.settle({ kind: 'hello', sni: hello.sni });
  }

  private settle(seen: FirstBytes): void {
    if (this.settled) return;
    this.settled = true;
    const { socket } = this;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onGone);
    socket.off('error', this.onGone);
    this.deadlines.delete(this);
    socket.pause();
    this.resolve({ seen, chunks: this.chunks, bytes: this.bytes });
  }
}
