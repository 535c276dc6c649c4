import { Namespace } from 'kubernetes-models/v1/Namespace';
import { APP_NAME } from '../names.js';
import type { RenderContext } from './context.js';

export function renderNamespace(ctx: RenderContext): Namespace {
  return new Namespace({ metadata: { name: ctx.options.namespace, labels: { 'app.kubernetes.io/part-of': APP_NAME } } });
}
