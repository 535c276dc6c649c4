import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { parseClientHello, peekClientHello } from '../../../src/inspect/client-hello.js';
import { upstreamAlpnOffer } from '../../../src/inspect/interceptor.js';

/** A real ClientHello from Node's TLS client, captured off a local socket. */
async function captureHello(opts: { servername?: string; alpn?: string[]; host?: string }): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s: Socket) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (parseClientHello(all) !== 'incomplete') {
          resolve(all);
          s.destroy();
        }
      });
    });
  });
  const client = tlsConnect({ port, host: '127.0.0.1', servername: opts.servername, ALPNProtocols: opts.alpn });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

/** The same handshake bytes re-framed into records of at most `size` bytes. */
function reframe(hello: Buffer, size: number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) {
    const part = body.subarray(at, at + size);
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(part.length, 3);
    out.push(header, part);
  }
  return Buffer.concat(out);
}

describe('ClientHello parsing', () => {
  it('reads SNI and ALPN (in the client order) from a real ClientHello', async () => {
    const hello = await captureHello({ servername: 'api.example.com', alpn: ['h2', 'http/1.1'] });
    assert.deepEqual(parseClientHello(hello), { sni: 'api.example.com', alpn: ['h2', 'http/1.1'] });
  });

  it('no SNI and no ALPN: an IP target without protocols', async () => {
    const hello = await captureHello({});
    assert.deepEqual(parseClientHello(hello), { alpn: [] });
  });

  it('a ClientHello spread over several records, and every prefix of it is incomplete', async () => {
    const hello = await captureHello({ servername: 'split.example', alpn: ['http/1.1'] });
    const split = reframe(hello, 100);
    assert.deepEqual(parseClientHello(split), { sni: 'split.example', alpn: ['http/1.1'] });
    for (const cut of [0, 1, 4, 5, 50, 105, split.length - 1]) assert.equal(parseClientHello(split.subarray(0, cut)), 'incomplete', `cut at ${cut}`);
  });

  it('what is not a ClientHello is undefined: plain HTTP, another handshake type, a garbled body', async () => {
    assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
    assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0, 4, 0x02, 0, 0, 0])), undefined);
    const garbled = Buffer.from([0x16, 3, 1, 0, 8, 0x01, 0, 0, 4, 3, 3, 0xff, 0xff]);
    assert.equal(parseClientHello(garbled), undefined);
  });

  it('peekClientHello waits for a hello sent one byte at a time, then puts every byte back', async () => {
    const hello = await captureHello({ servername: 'slow.example', alpn: ['h2'] });
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    const peeked = peekClientHello(socket, Buffer.alloc(0), 5000);
    for (let i = 0; i < hello.length; i += 37) {
      client.write(hello.subarray(i, i + 37));
      await new Promise((r) => setTimeout(r, 1));
    }
    const result = await peeked;
    assert.deepEqual(result, { first: 0x16, hello: { sni: 'slow.example', alpn: ['h2'] } });
    const back: Buffer[] = [];
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) back.push(chunk);
    assert.deepEqual(Buffer.concat(back), hello);
    client.destroy();
    socket.destroy();
    server.close();
  });

  it('peekClientHello: bytes that came with the CONNECT count; nothing at all resolves undefined', async () => {
    const hello = await captureHello({ servername: 'head.example' });
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    assert.deepEqual(await peekClientHello(socket, hello, 5000), { first: 0x16, hello: { sni: 'head.example', alpn: [] } });
    client.end();
    assert.equal(await peekClientHello(socket, Buffer.alloc(0), 5000), undefined);
    socket.destroy();
    server.close();
  });
});

describe('ALPN offered to the destination', () => {
  const hello = (alpn: string[]) => ({ alpn });
  it('mirrors the protocols interception speaks, in the client order', () => {
    assert.deepEqual(upstreamAlpnOffer(hello(['h2', 'http/1.1']), false), ['h2', 'http/1.1']);
    assert.deepEqual(upstreamAlpnOffer(hello(['http/1.1', 'h2']), false), ['http/1.1', 'h2']);
    assert.deepEqual(upstreamAlpnOffer(hello(['h3', 'h2', 'h2']), false), ['h2']);
  });
  it('HTTP/1.1 alone when held to it, when the client offered nothing usable, or sent no readable hello', () => {
    assert.deepEqual(upstreamAlpnOffer(hello(['h2', 'http/1.1']), true), ['http/1.1']);
    assert.deepEqual(upstreamAlpnOffer(hello(['spdy/3']), false), ['http/1.1']);
    assert.deepEqual(upstreamAlpnOffer(hello([]), false), ['http/1.1']);
    assert.deepEqual(upstreamAlpnOffer(null, false), ['http/1.1']);
  });
});
