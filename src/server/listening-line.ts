import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { ControlPlane } from '../control/control-plane.js';
import { publishLifecycle } from '../model/channels.js';
import { formatHostPort } from '../model/destination.js';

/** The start warnings, then the "listening" line (one process or the primary of --workers). */
export function publishListening(
  instance: string,
  config: Config,
  control: ControlPlane,
  bound: AddressInfo,
  side: { admin: AddressInfo | undefined; ui: AddressInfo | undefined },
  url: string,
  extra: Record<string, unknown> = {},
): void {
  for (const reason of control.warnings) publishLifecycle({ instance, event: 'warning', detail: { reason } });
  publishLifecycle({
    instance,
    event: 'listening',
    detail: {
      mode: config.mode,
      proxy: formatHostPort(bound.address, bound.port),
      admin: side.admin ? formatHostPort(side.admin.address, side.admin.port) : null,
      url,
      config_version: control.live.current.id,
      ...(control.ca ? { ui: side.ui ? formatHostPort(side.ui.address, side.ui.port) : null, ...control.detail } : {}),
      ...extra,
    },
  });
}
