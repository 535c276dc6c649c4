import { createSocket } from 'node:dgram';
import { pathToFileURL } from 'node:url';

/**
 * A DNS server for tests, on 127.0.0.1:53 of a network namespace of the test's own (whose
 * /etc/netns/NAME/resolv.conf names it), so the proxy's ordinary getaddrinfo() asks it. Each A
 * query for a name gets the next address of its list (the last one repeats), TTL 0: a resolver
 * that answers differently the second time, as a DNS-rebinding attacker's does. "drop" never
 * answers (a resolver that times out). AAAA queries get no addresses; unknown names NXDOMAIN.
 * Every query is printed as a JSON line: {"name":"x.test","type":1,"answer":"127.0.0.1"}.
 *
 * Run as a program: node dns-stub.js '{"rebind.test":["127.0.0.1","127.0.0.2"],"slow.test":"drop"}'
 */
export type DnsAnswers = Record<string, string[] | 'drop'>;

const TYPE_A = 1;

/** The question's name, type and where the question section ends. */
function parseQuestion(msg: Buffer): { name: string; type: number; end: number } | undefined {
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length) {
    const len = msg[at]!;
    if (len === 0) break;
    // Queries carry no compression pointers in the question; anything else is not ours to answer.
    if (len > 63) return undefined;
    labels.push(msg.subarray(at + 1, at + 1 + len).toString('latin1'));
    at += 1 + len;
  }
  if (at + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at + 1), end: at + 5 };
}

/** The answer to one query (same id and question), or undefined to drop it. */
export function answerQuery(msg: Buffer, answers: DnsAnswers, asked: Map<string, number>): { reply?: Buffer; log: Record<string, unknown> } | undefined {
  if (msg.length < 12) return undefined;
  const q = parseQuestion(msg);
  if (!q) return undefined;
  const list = answers[q.name];
  const log: Record<string, unknown> = { name: q.name, type: q.type };
  if (list === 'drop') return { log: { ...log, answer: 'dropped' } };
  let address: string | undefined;
  if (list && q.type === TYPE_A) {
    const n = asked.get(q.name) ?? 0;
    asked.set(q.name, n + 1);
    address = list[Math.min(n, list.length - 1)];
  }
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  // QR, the client's RD, RA; NXDOMAIN for a name we do not know.
  header.writeUInt16BE(0x8080 | (msg.readUInt16BE(2) & 0x0100) | (list ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(address ? 1 : 0, 6);
  const parts = [header, msg.subarray(12, q.end)];
  if (address) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the name, as a pointer to the question's
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(0, 6); // TTL 0: nothing may keep it
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    parts.push(rr);
  }
  return { reply: Buffer.concat(parts), log: { ...log, answer: address ?? (list ? 'none' : 'nxdomain') } };
}

function main(): void {
  const answers = JSON.parse(process.argv[2] ?? '{}') as DnsAnswers;
  const asked = new Map<string, number>();
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const out = answerQuery(msg, answers, asked);
    if (!out) return;
    process.stdout.write(`${JSON.stringify(out.log)}\n`);
    if (out.reply) socket.send(out.reply, from.port, from.address);
  });
  socket.bind(53, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: true })}\n`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
