#!/usr/bin/env node
// The "app under test": fetches TARGET_URL once and prints the status. It honours HTTPS_PROXY
// (and NO_PROXY) the way an app built on undici does, through EnvHttpProxyAgent. With
// --ignore-proxy it makes the classic mistake: a plain connection that bypasses the proxy.
//
//   HTTPS_PROXY=http://127.0.0.1:8888 TARGET_URL=https://example.com/ node app.mjs
import { EnvHttpProxyAgent, fetch } from 'undici';

const target = process.env.TARGET_URL;
if (!target) {
  console.error('error: TARGET_URL is not set');
  process.exit(1);
}
const ignoreProxy = process.argv.includes('--ignore-proxy');
const dispatcher = ignoreProxy ? undefined : new EnvHttpProxyAgent();
try {
  const res = await fetch(target, dispatcher ? { dispatcher } : {});
  await res.arrayBuffer();
  console.log(res.status);
  process.exit(res.ok ? 0 : 2);
} catch (err) {
  console.error(`error: ${err.cause?.message ?? err.message}`);
  process.exit(1);
}
