import { Service } from 'kubernetes-models/v1/Service';
import { ADMIN_PORT_NAME, METRICS_SERVICE_PORT_NAME } from '../names.js';
import { clientPorts, objectMeta, uiPorts, type RenderContext } from './context.js';

export function renderService(ctx: RenderContext): Service {
  return new Service({
    metadata: objectMeta(ctx),
    spec: {
      type: 'ClusterIP',
      selector: { ...ctx.selector },
      ports: [
        ...[...clientPorts(ctx), ...uiPorts(ctx)].map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: 'TCP' as const })),
        { name: METRICS_SERVICE_PORT_NAME, port: ctx.proxy.adminPort, targetPort: ADMIN_PORT_NAME, protocol: 'TCP' as const },
      ],
    },
  });
}
