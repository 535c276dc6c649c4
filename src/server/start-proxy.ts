import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from '../config/host-port.js';
import { parseConfig } from '../config/load.js';
import type { Config, ConfigInput } from '../config/schema.js';
import { createControlPlane, type ControlOptions } from '../control/control-plane.js';
import type { ReloadOutcome, ReloadTrigger } from '../control/reload.js';
import type { Flow } from '../flows/flow.js';
import type { ProxyRecord } from '../model/record.js';
import { publishLifecycle } from '../model/channels.js';
import { formatHostPort } from '../model/destination.js';
import { createDataPlane } from './data-plane.js';
import { interceptionAfterListen } from './interception-after-listen.js';
import { publishListening } from './listening-line.js';

export interface StartOptions extends ControlOptions {
  /**
   * Ports of other proxies in this process, refused as loops like this proxy's own: several
   * proxies started with the same array refuse every port of each other (`egresskit dev` runs
   * three). startProxy adds its own bound ports (proxy, admin, UI) to the array and reads it at
   * each decision, so ports bound after this proxy started count too. Without it, each proxy
   * refuses only its own ports.
   */
  selfPorts?: number[];
  /**
   * 32 bytes from which TLS session-ticket keys are derived (mtls listener, inspect's leaves):
   * proxies (worker processes) given the same secret resume each other's sessions. Random per
   * proxy when absent.
   */
  ticketSecret?: Buffer;
}

export interface ProxyHandle {
  instance: string;
  mode: Config['mode'];
  /** The bound proxy address (port 0 resolved to the real port). */
  address: { host: string; port: number };
  admin: { host: string; port: number } | undefined;
  /** Inspect mode's UI and flow API, when on. */
  ui: { host: string; port: number } | undefined;
  /** http://host:port or https://host:port, ready for HTTPS_PROXY. */
  url: string;
  ready(): boolean;
  /**
   * The records this proxy published so far (one per tunnel, forwarded request, refused or
   * failed connection), oldest first: the last `keepRecords` of them (default 10,000). A record
   * is published when its exchange ends, so a tunnel the client still holds open is not here yet.
   */
  records(): ProxyRecord[];
  /**
   * The kept records, then each new one as it is published; the loop ends when the proxy is
   * closed. `for await (const r of proxy.recordStream()) if (r.target === 'api.example.com:443') break;`
   * With `{ replay: false }` only records published from now on: open it before running the
   * code under test to see just its records. A reader more than 10,000 records behind fails
   * rather than holding them all.
   */
  recordStream(options?: { replay?: boolean }): AsyncIterableIterator<ProxyRecord>;
  /** Inspect mode (and mtls with inspect): the flows captured so far, oldest first. Throws in other modes. */
  flows(): Flow[];
  /**
   * Reads the config and htpasswd files (and mtls's TLS files) again, as SIGHUP does, and swaps in
   * the new policy and users if they are valid; with `config`, uses that instead of the files.
   * Decisions already under way finish under the version they started with.
   */
  reload(config?: ConfigInput, trigger?: ReloadTrigger): ReloadOutcome;
  /** The running policy and users version (records carry it as configVersion). */
  configVersion(): string;
  /** Stop accepting, fail readiness, wait for live tunnels up to drainMs, then close. */
  close(drainMs?: number): Promise<void>;
}

const hostPort = (a: AddressInfo | undefined) => (a ? { host: a.address, port: a.port } : undefined);

/**
 * The composition root: one control plane (logs, metrics, admin, CA, flows, UI) and one data
 * plane (listener + pipeline) for one proxy instance. What crosses between them is plain data:
 * records, tunnel and lifecycle events on diagnostics channels tagged with the instance id, the
 * capture hook and CA going down, readiness and drain going up.
 */
export async function startProxy(config: Config, options: StartOptions = {}): Promise<ProxyHandle> {
  const instance = randomUUID();
  const control = await createControlPlane(config, instance, options);
  // The self-loop guard's ports: this proxy's, plus those of any proxy sharing the array.
  const ports: number[] = options.selfPorts ?? [];
  let data: ReturnType<typeof createDataPlane> | undefined;
  let bound: AddressInfo;
  let side: Awaited<ReturnType<typeof control.listen>>;
  try {
    // Loaded only when intercepting: see DataPlaneInputs.createInterception.
    const interception = control.ca ? interceptionAfterListen((await import('../inspect/interception.js')).createInterception) : undefined;
    data = createDataPlane(config, instance, {
      capture: control.capture,
      ca: control.ca,
      createInterception: interception?.factory,
      ports,
      live: control.live,
      ticketSecret: options.ticketSecret,
    });
    const at = parseHostPort(config.listen)!;
    bound = await data.listen(at.host, at.port);
    // Synchronously, before any connection is handled (see interception-after-listen.ts).
    interception?.build();
    const plane = data;
    // The UI resends through the proxy's own listener, as a client would.
    side = await control.listen(ports, () => plane.ready(), { host: bound.address, port: bound.port, scheme: data.scheme });
  } catch (err) {
    // A library caller that fails to start must not be left with subscribers, timers or sockets.
    await data?.close();
    await control.close();
    control.detach();
    throw err;
  }
  const dataPlane = data;
  const urlHost = bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address;
  let closing: Promise<void> | undefined;
  const handle: ProxyHandle = {
    instance,
    mode: config.mode,
    address: { host: bound.address, port: bound.port },
    admin: hostPort(side.admin),
    ui: hostPort(side.ui),
    url: `${dataPlane.scheme}://${formatHostPort(urlHost, bound.port)}`,
    ready: () => dataPlane.ready(),
    reload: (given, trigger) => {
      // The mtls listener's certificate, key, client CA and CRL are re-read too (they apply to new handshakes).
      dataPlane.checkTls();
      return control.reload(given === undefined ? undefined : () => parseConfig(given, 'reload() config'), trigger);
    },
    configVersion: () => control.live.current.id,
    records: () => control.records.list(),
    recordStream: (options) => control.records.stream(options?.replay !== false),
    flows: () => {
      if (!control.flows) throw new Error(`flows() needs interception (inspect mode, or mtls with inspect); this proxy runs ${config.mode} without it`);
      return control.flows();
    },
    close: (drainMs = config.timeouts.drain) => {
      closing ??= (async () => {
        const cut = await dataPlane.drain(drainMs);
        await control.close();
        await dataPlane.close();
        publishLifecycle({ instance, event: 'closed', detail: { tunnels_cut: cut } });
        control.detach();
      })();
      return closing;
    },
  };
  publishListening(instance, config, control, bound, side, handle.url);
  return handle;
}
