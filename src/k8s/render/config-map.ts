import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { CONFIG_KEY } from '../names.js';
import { objectMeta, type RenderContext } from './context.js';

export function renderConfigMap(ctx: RenderContext): ConfigMap {
  return new ConfigMap({ metadata: objectMeta(ctx), data: { [CONFIG_KEY]: ctx.proxy.yaml } });
}
