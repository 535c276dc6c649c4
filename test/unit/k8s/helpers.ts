import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderObjects, type RenderedObject } from '../../../src/k8s/render.js';
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, defaultReplicas, type RenderOptions } from '../../../src/k8s/options.js';

export function render(overrides: Partial<RenderOptions> & Pick<RenderOptions, 'mode'>): RenderedObject[] {
  return renderObjects({ namespace: DEFAULT_NAMESPACE, image: DEFAULT_IMAGE, replicas: defaultReplicas(overrides.mode), ...overrides });
}

/** Plain JSON of every rendered object of `kind` (what kubectl would send). */
export function ofKind<T>(objects: RenderedObject[], kind: string): T[] {
  return objects.filter((o) => o.object.kind === kind).map((o) => o.object.toJSON() as T);
}

export function one<T>(objects: RenderedObject[], kind: string, name?: string): T {
  const found = ofKind<T & { metadata?: { name?: string } }>(objects, kind).filter((o) => name === undefined || o.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'egresskit-k8s-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
