import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { parseHostPort } from '../config/host-port.js';
import type { Config } from '../config/schema.js';
import { createControlPlane, type ControlOptions } from '../control/control-plane.js';
import { publishLifecycle } from '../model/channels.js';
import { formatHostPort } from '../model/destination.js';
import { createDataPlane } from './data-plane.js';

export type StartOptions = ControlOptions;

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
  const ports: number[] = [];
  let data: ReturnType<typeof createDataPlane> | undefined;
  let bound: AddressInfo;
  let side: Awaited<ReturnType<typeof control.listen>>;
  try {
    data = createDataPlane(config, instance, { capture: control.capture, ca: control.ca, ports });
    const at = parseHostPort(config.listen)!;
    bound = await data.listen(at.host, at.port);
    const plane = data;
    side = await control.listen(ports, () => plane.ready());
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
  for (const reason of control.warnings) publishLifecycle({ instance, event: 'warning', detail: { reason } });
  publishLifecycle({
    instance,
    event: 'listening',
    detail: {
      mode: config.mode,
      proxy: formatHostPort(bound.address, bound.port),
      admin: side.admin ? formatHostPort(side.admin.address, side.admin.port) : null,
      url: handle.url,
      ...(control.ca ? { ui: side.ui ? formatHostPort(side.ui.address, side.ui.port) : null, ...control.detail } : {}),
    },
  });
  return handle;
}
