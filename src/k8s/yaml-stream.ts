import { stringify } from 'yaml';

/** What the typed models share: kubernetes-models and @kubernetes-models/cert-manager classes. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string };
  toJSON(): unknown;
  validate(): void;
}

/** One document; long strings stay on one line (folded lines parse the same, but diff badly). */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/** A multi-document stream, each document introduced by `---` (what kubectl and kustomize read). */
export function toYamlStream(objects: readonly K8sObject[]): string {
  return objects.map((o) => `---\n${toYaml(o.toJSON())}`).join('');
}
