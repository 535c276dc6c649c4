// Host-side helpers for scripts/test-image.sh, run with the host's node (loopback only).
//
//   node helpers.mjs free-ports N          N free TCP ports on 127.0.0.1, one a line
//   node helpers.mjs upstream PORTFILE     HTTP upstream on 127.0.0.1:0; writes its port to
//                                          PORTFILE; GET /slow?ms=N answers after N ms; one
//                                          line per request on stdout
//   node helpers.mjs image-config FILE     checks `buildah inspect --type image` JSON; prints
//                                          KEY=VALUE lines (ENTRYPOINT/CMD are JSON arrays)
//   node helpers.mjs log-check FILE SPEC   finds a JSON log line matching SPEC (a JSON object
//                                          of field values) in FILE; exits 1 and prints the
//                                          lines when none matches
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';

const [cmd, ...args] = process.argv.slice(2);

async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    const s = createServer();
    await new Promise((resolve, reject) => s.once('error', reject).listen(0, '127.0.0.1', resolve));
    servers.push(s);
  }
  for (const s of servers) process.stdout.write(`${s.address().port}\n`);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
}

function upstream(portFile) {
  const server = createServer((req, res) => {
    process.stdout.write(`upstream: ${req.method} ${req.url}\n`);
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (url.pathname === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? '2000');
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(`slow done after ${ms} ms\n`), ms);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from upstream\n');
  });
  server.listen(0, '127.0.0.1', () => writeFileSync(portFile, `${server.address().port}\n`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function imageConfig(file) {
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const c = raw.OCIv1?.config ?? {};
  const problems = [];
  const env = Object.fromEntries((c.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  if (!/^[0-9]+(:[0-9]+)?$/.test(c.User ?? '') || (c.User ?? '').startsWith('0')) problems.push(`User is "${c.User ?? ''}", want a numeric non-root uid:gid`);
  if (!Array.isArray(c.Entrypoint) || c.Entrypoint[0] !== 'node') problems.push(`Entrypoint is ${JSON.stringify(c.Entrypoint)}, want exec form starting with node`);
  for (const port of ['8888/tcp', '8443/tcp', '9090/tcp']) if (!c.ExposedPorts?.[port]) problems.push(`port ${port} is not exposed`);
  for (const name of ['NODE_EXTRA_CA_CERTS', 'npm_config_cafile', 'NPM_CONFIG_CAFILE', 'SSL_CERT_FILE']) {
    if (name in env) problems.push(`Env sets ${name}: the build CA must not reach the image`);
  }
  for (const label of ['org.opencontainers.image.title', 'org.opencontainers.image.licenses', 'org.opencontainers.image.version']) {
    if (!c.Labels?.[label]) problems.push(`label ${label} is missing`);
  }
  const out = {
    USER: c.User ?? '',
    ENTRYPOINT: JSON.stringify(c.Entrypoint ?? []),
    CMD: JSON.stringify(c.Cmd ?? []),
    WORKDIR: c.WorkingDir ?? '/',
    EXPOSED: Object.keys(c.ExposedPorts ?? {}).join(' '),
    VERSION_LABEL: c.Labels?.['org.opencontainers.image.version'] ?? '',
  };
  for (const [k, v] of Object.entries(out)) process.stdout.write(`${k}=${v}\n`);
  for (const [k, v] of Object.entries(env)) process.stdout.write(`ENV ${k}=${v}\n`);
  for (const p of problems) process.stdout.write(`PROBLEM ${p}\n`);
}

function logCheck(file, spec) {
  const want = JSON.parse(spec);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  for (const line of lines) {
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    if (Object.entries(want).every(([k, v]) => rec[k] === v)) {
      process.stdout.write(`${line}\n`);
      return;
    }
  }
  process.stderr.write(`no log line matches ${spec}; the log has:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  process.exit(1);
}

switch (cmd) {
  case 'free-ports':
    await freePorts(Number(args[0] ?? '1'));
    break;
  case 'upstream':
    upstream(args[0]);
    break;
  case 'image-config':
    imageConfig(args[0]);
    break;
  case 'log-check':
    logCheck(args[0], args[1]);
    break;
  default:
    process.stderr.write(`unknown helper command: ${cmd}\n`);
    process.exit(2);
}
