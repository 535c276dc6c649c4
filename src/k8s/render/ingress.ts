import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { K8sError } from '../errors.js';
import { UI_PORT_NAME } from '../names.js';
import type { UiIngressOptions } from '../options.js';
import { objectMeta, type RenderContext } from './context.js';

/**
 * inspect --ui-ingress: the UI behind an Ingress at HOST/PATH. No rewrite: egresskit itself
 * answers under PATH (inspect.uiBasePath), so links, the cookie path and redirects stay right
 * whatever the controller. The path is written without its trailing slash so that HOST/PATH
 * also reaches egresskit, which redirects it to HOST/PATH/.
 */
export function renderUiIngress(ctx: RenderContext, opts: UiIngressOptions): Ingress {
  if (ctx.proxy.uiPort === undefined) {
    throw new K8sError('--ui-ingress: the config turns the UI off (inspect.ui: off): remove inspect.ui, or drop --ui-ingress');
  }
  return new Ingress({
    metadata: objectMeta(ctx),
    spec: {
      ...(opts.className !== undefined ? { ingressClassName: opts.className } : {}),
      ...(opts.tlsSecret !== undefined ? { tls: [{ hosts: [opts.host], secretName: opts.tlsSecret }] } : {}),
      rules: [
        {
          host: opts.host,
          http: {
            paths: [
              {
                path: opts.path === '/' ? '/' : opts.path.slice(0, -1),
                pathType: 'Prefix',
                backend: { service: { name: ctx.name, port: { name: UI_PORT_NAME } } },
              },
            ],
          },
        },
      ],
    },
  });
}
