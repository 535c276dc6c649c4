import { VERSION } from '../version.js';
import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { parseHostPort } from '../config/host-port.js';
import type { Config, InspectConfig } from '../config/schema.js';
import type { CaptureHook } from '../model/exchange.js';
import { publishLifecycle } from '../model/channels.js';
import { createUiServer } from '../ui/ui-server.js';
import { expandHome, loadInspectCA } from './inspect-ca.js';
import { flowCaptureHook } from '../inspect/flow-capture.js';
import { addRecordFlows } from '../inspect/record-flows.js';
import type { ProxyRecord } from '../model/record.js';
import { FlowDb } from '../flows/flow-db.js';
import { FlowStore } from '../flows/flow-store.js';
import type { InterceptionCA } from '../inspect/interception.js';
import { isLoopbackHost, resolveUiToken, UI_TOKEN_ENV, type UiToken } from '../ui/ui-access.js';
import type { ProxyEndpoint } from '../ui/resend.js';

export interface InspectRuntime {
  store: FlowStore;
  capture: CaptureHook;
  /** What interception (in the data plane) mints leaves with, and the CA file its hints name. */
  ca: InterceptionCA;
  /** The UI server, not yet listening, and where it should listen; undefined with --ui off. */
  ui: { server: Server; host: string; port: number } | undefined;
  /** The UI token (a UI bound beyond loopback has one); it also opens the admin port's /explain. */
  uiToken: string | undefined;
  /** Extra fields for the "listening" line (never the token). */
  detail: Record<string, unknown>;
  /** Loud warnings to log at start (e.g. --insecure-upstream). */
  warnings: string[];
  /** Where the proxy listens, once bound: the UI resends through it and names it in curl commands. */
  proxyListening(at: ProxyEndpoint): void;
  /** After the drain: writes what the flows database still has pending and closes it. */
  close(): Promise<void>;
}


/** The control plane's part of inspect mode: CA bootstrap, flow store (and database), capture hook, UI. */
export async function prepareInspect(config: Config, instance: string): Promise<InspectRuntime> {
  const cfg: InspectConfig = config.inspect!;
  const ca = await loadInspectCA(cfg);
  const store = new FlowStore({ maxFlows: cfg.maxFlows, maxBytes: cfg.maxFlowBytes, redact: cfg.redact });
  const captured = new WeakSet<ProxyRecord>();
  const capture = flowCaptureHook(store, cfg.bodyCapBytes, captured);
  const detail: Record<string, unknown> = { ca_cert: ca.certFile };
  let ui: InspectRuntime['ui'];
  let token: string | undefined;
  let proxyAt: ProxyEndpoint | undefined;
  if (cfg.ui !== 'off') {
    const at = parseHostPort(cfg.ui)!;
    const resolved = await resolveUiToken({ bindHost: at.host, caDir: expandHome(cfg.caDir), tokenFile: cfg.uiTokenFile && expandHome(cfg.uiTokenFile) });
    token = resolved?.token;
    if (resolved) {
      detail.ui_token_source = resolved.source;
      if (resolved.file) detail.ui_token_file = resolved.file;
    }
    if (cfg.uiBasePath !== '/') detail.ui_base_path = cfg.uiBasePath;
    const server = createUiServer({
      store,
      caCertPem: ca.certPem,
      version: VERSION,
      token,
      caCertFile: ca.certFile,
      mode: config.mode,
      proxy: () => proxyAt,
      tokenHint: resolved && tokenHint(resolved),
      basePath: cfg.uiBasePath,
      // A UI bound to a name (not an address, not a wildcard) answers to that name.
      allowedHosts: [...cfg.uiAllowedHosts, ...(isIP(at.host) === 0 && !isLoopbackHost(at.host) ? [at.host] : [])],
    });
    ui = { server, host: at.host, port: at.port };
  }
  const warnings: string[] = [];
  if (cfg.insecureUpstream) {
    warnings.push(
      'INSECURE: --insecure-upstream is set: upstream TLS certificates are NOT verified, so anyone on the path can impersonate every destination; flows are marked upstreamVerified: false. Use --upstream-ca FILE instead.',
    );
  }
  // Opened last, so that no earlier setup error leaves the file open (and locked).
  const db = cfg.flowsDb === undefined ? undefined : await openFlowDb(expandHome(cfg.flowsDb), store, instance, detail, warnings);
  const stopRecordFlows = addRecordFlows(store, instance, captured);
  return {
    store,
    capture,
    ca: { issuer: ca.issuer, certFile: ca.certFile },
    ui,
    uiToken: ui ? token : undefined,
    detail,
    warnings,
    proxyListening: (at) => {
      proxyAt = at;
    },
    close: async () => {
      stopRecordFlows();
      await db?.close();
    },
  };
}

function tokenHint(t: UiToken): string {
  if (t.source === 'env') return `the ${UI_TOKEN_ENV} the proxy was started with`;
  return `in ${t.file} on the proxy's host (in Kubernetes: kubectl exec deploy/egresskit-inspect -- cat ${t.file})`;
}

async function openFlowDb(path: string, store: FlowStore, instance: string, detail: Record<string, unknown>, warnings: string[]): Promise<FlowDb> {
  const db = await FlowDb.open(path, {
    onWriteError: (err) =>
      publishLifecycle({
        instance,
        event: 'warning',
        detail: { reason: `cannot write to the flows database ${path} (${err.message}); flows stay in memory and the write is retried every few seconds` },
      }),
  });
  try {
    const restored = db.attach(store);
    detail.flows_db = path;
    detail.flows_db_driver = db.driver;
    detail.flows_restored = restored.restored;
    if (restored.unreadable > 0) warnings.push(`the flows database ${path} had ${restored.unreadable} unreadable flows; they were deleted`);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
