import { connect, Socket } from 'node:net';
import { Duplex, PassThrough, type Writable } from 'node:stream';
import { formatHostPort } from '../model/destination.js';
import { ProxyError, toProxyError } from '../model/errors.js';

/**
 * Tunnel upstreams read into one large buffer shared by all of them (net's `onread` option)
 * instead of a fresh 64 KiB allocation per read. Reads of up to 1 MiB mean fewer syscalls and
 * callbacks per gigabyte (a standalone relay on a 2-core machine moved about 1.3x the bytes per
 * second of pipe()), at no memory cost per idle tunnel. Each chunk is copied out before the
 * callback returns, because the next read on any socket overwrites the buffer.
 */
const SHARED = Buffer.allocUnsafe(1 << 20);
const ignoreError = (): void => undefined;

/**
 * Where a large read is copied to. A fresh copy per read was garbage that V8 collects only
 * once about 64 MiB of buffers have piled up since the last GC (its external-memory soft
 * limit): a 1 GiB download grew RSS by 40-80 MiB. A socket calls a write's callback once it
 * has handed the bytes to the kernel (or to OpenSSL), so the slab goes back here then and the
 * next read reuses it: a bulk tunnel holds one or two slabs, whatever it moves.
 */
const SLAB = SHARED.length;
/** Reads shorter than this are copied to ordinary small buffers (Node's 8 KiB pool below 4 KiB). */
const SLAB_MIN_READ = 64 * 1024;
/** Free slabs kept for reuse; more in flight at once (many bulk tunnels) are left to the GC. */
const FREE_SLABS_MAX = 8;
const freeSlabs: Buffer[] = [];
const takeSlab = (): Buffer => freeSlabs.pop() ?? Buffer.allocUnsafeSlow(SLAB);
const giveSlab = (slab: Buffer) => () => void (freeSlabs.length < FREE_SLABS_MAX && freeSlabs.push(slab));

/** What a connection may read before it is relayed anywhere (server-first protocols, e.g. SMTP banners). */
const EARLY_LIMIT = 256 * 1024;

/**
 * The destination side of one exchange: a socket the pipeline dialled (or a tunnel through the
 * parent proxy) and the state of its reads, in one value instead of a Socket with hidden state.
 * A socket opened with shared-buffer reads emits no 'data' events: read it only through
 * relayTo() or asDuplex().
 */
export class UpstreamConnection {
  /** The TCP socket when dialled here; when wrapped, the stream given (typed as a Socket for its optional counters and timeouts). */
  readonly socket: Socket;
  /** performance.now() of the first byte read from the destination, for time to first byte. */
  firstByteAt: number | undefined;
  private sink: Writable | undefined;
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly sharedReads: boolean;

  private constructor(make: (conn: UpstreamConnection) => Socket, sharedReads: boolean) {
    this.sharedReads = sharedReads;
    this.socket = make(this);
  }

  /**
   * A TCP connection to an address policy already decided on; rejects with a ProxyError.
   * `sharedReads: false` for a socket handed to a library that reads it itself (undici).
   */
  static dial(ip: string, port: number, timeoutMs: number, sharedReads = true): Promise<UpstreamConnection> {
    const conn = new UpstreamConnection(
      (self) =>
        // allowHalfOpen: a tunnel must pass one side's FIN on without closing the other direction.
        connect({
          host: ip,
          port,
          allowHalfOpen: true,
          noDelay: true,
          ...(sharedReads ? { onread: { buffer: SHARED, callback: (n: number, buf: Buffer) => self.onRead(n, buf) } } : {}),
        }),
      sharedReads,
    );
    const { socket } = conn;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ProxyError('connect_timeout', `${formatHostPort(ip, port)} after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // Until its taker (a tunnel, interception, a pool) attaches its own, an error on the
        // connection (the destination resets it while the client is still deciding) must not
        // be an uncaught 'error': the socket is destroyed and its taker sees that.
        socket.on('error', ignoreError);
        resolve(conn);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(toProxyError(err, formatHostPort(ip, port)));
      });
    });
  }

  /** A stream opened elsewhere (the tunnel through a parent proxy, an upgraded connection), read the ordinary way. */
  static wrap(stream: Duplex): UpstreamConnection {
    return new UpstreamConnection(() => stream as Socket, false);
  }

  get bytesRead(): number {
    return this.socket.bytesRead ?? 0;
  }

  get bytesWritten(): number {
    return this.socket.bytesWritten ?? 0;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  write(chunk: Buffer | string): boolean {
    return this.socket.write(chunk);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** From now on the destination's bytes go to `dest`, with backpressure; its end becomes dest.end(). */
  relayTo(dest: Writable): void {
    if (!this.sharedReads) {
      // Listening for 'data' only once piped: an earlier listener would start the flow and lose bytes.
      this.socket.once('data', () => (this.firstByteAt ??= performance.now()));
      this.socket.pipe(dest);
      this.socket.resume();
      return;
    }
    for (const chunk of this.early) dest.write(chunk);
    this.early = [];
    this.sink = dest;
    dest.on('drain', () => this.socket.resume());
    this.socket.once('end', () => dest.end());
    this.socket.resume();
  }

  /** The connection as an ordinary Duplex that emits 'data' (for a parser, e.g. Node's HTTP client reading an Upgrade response). */
  asDuplex(): Duplex {
    if (!this.sharedReads) return this.socket;
    const pass = new PassThrough();
    this.relayTo(pass);
    this.socket.once('close', () => {
      if (!pass.writableEnded) pass.end();
    });
    return Duplex.from({ readable: pass, writable: this.socket });
  }

  private onRead(nread: number, buf: Buffer): boolean {
    this.firstByteAt ??= performance.now();
    // Only a socket returns the chunk when its callback runs; a PassThrough (asDuplex) hands
    // the same bytes on to its reader, so it gets a copy of its own.
    if (this.sink instanceof Socket && nread >= SLAB_MIN_READ) {
      const slab = takeSlab();
      buf.copy(slab, 0, 0, nread);
      if (!this.sink.write(slab.subarray(0, nread), giveSlab(slab))) this.socket.pause();
      return true;
    }
    const chunk = Buffer.from(buf.subarray(0, nread));
    if (this.sink) {
      if (!this.sink.write(chunk)) this.socket.pause();
      return true;
    }
    this.early.push(chunk);
    this.earlyBytes += chunk.length;
    if (this.earlyBytes > EARLY_LIMIT) this.socket.pause();
    return true;
  }
}
