import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { objectMeta, type RenderContext } from './context.js';

/** Its own identity (not "default"), with no API token: the proxy never calls the API server. */
export function renderServiceAccount(ctx: RenderContext): ServiceAccount {
  return new ServiceAccount({ metadata: objectMeta(ctx), automountServiceAccountToken: false });
}
