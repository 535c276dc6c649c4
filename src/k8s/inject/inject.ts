import { isMap, isScalar, isSeq, parseAllDocuments, visit, type Document, type ToStringOptions } from 'yaml';
import { K8sError } from '../errors.js';
import { checkObjectName } from '../options.js';
import { injectPodTemplate } from './pod-template.js';
import { proxyEnv, type InjectOptions } from './proxy-env.js';
import { podTemplates } from './workloads.js';

export interface InjectedWorkload {
  kind: string;
  name: string;
  status: 'injected' | 'unchanged' | 'no containers';
}

export interface InjectResult {
  text: string;
  workloads: InjectedWorkload[];
}

function column(source: string, offset: number): number {
  return offset - (source.lastIndexOf('\n', offset - 1) + 1);
}

/** The indentation the document already uses, so an edited document looks like its neighbours. */
function styleOf(doc: Document, source: string, segment: string): ToStringOptions {
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  visit(doc, {
    Pair(_, pair) {
      const keyStart = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      const value = pair.value;
      if (keyStart === undefined || !(isMap(value) || isSeq(value)) || value.flow || !value.range || value.items.length === 0) return;
      const offset = column(source, value.range[0]) - column(source, keyStart);
      if (isMap(value) && indent === undefined && offset > 0) indent = offset;
      if (isSeq(value) && indentSeq === undefined) indentSeq = offset > 0;
      if (indent !== undefined && indentSeq !== undefined) return visit.BREAK;
    },
  });
  // `{a: 1}` or `{ a: 1 }`: whichever the first flow collection uses.
  const flowPadding = /:[ \t]*[[{]( ?)[^\]}\s]/.exec(segment)?.[1] !== '';
  return { lineWidth: 0, indent: indent ?? 2, indentSeq: indentSeq ?? true, flowCollectionPadding: flowPadding };
}

/** JSON input (`kubectl get -o json`) is one flow mapping; once edited it is written as block YAML. */
function unJson(doc: Document): void {
  if (!isMap(doc.contents) || !doc.contents.flow) return;
  visit(doc, {
    Map(_, map) {
      map.flow = false;
    },
    Seq(_, seq) {
      seq.flow = false;
    },
    Scalar(_, scalar) {
      if (typeof scalar.value === 'string') scalar.type = undefined;
    },
  });
}

const snapshot = (doc: Document): string => JSON.stringify(doc.toJS());

/**
 * Adds proxy settings to every workload in a YAML stream (see injectPodTemplate). Documents
 * without a Pod template, and documents already injected with the same settings, are copied
 * byte for byte, so running inject on its own output changes nothing. Edited documents keep
 * their comments, key order and indentation style.
 */
export function injectManifests(source: string, options: InjectOptions, sourceName = 'input'): InjectResult {
  const env = proxyEnv(options);
  if (options.caConfigMap !== undefined) checkObjectName(options.caConfigMap, '--ca-configmap');
  // YAML 1.1, as Kubernetes reads it: `defaultMode: 0644` stays octal when written back.
  const docs = parseAllDocuments(source, { version: '1.1' });
  const workloads: InjectedWorkload[] = [];
  let text = '';
  docs.forEach((doc, i) => {
    const error = doc.errors[0];
    if (error) throw new K8sError(`${sourceName}: not valid YAML: ${error.message.split('\n')[0]}`);
    // Each document owns the text from its start to the next one's (comments and `---` included).
    const segment = source.slice(i === 0 ? 0 : doc.range[0], docs[i + 1]?.range[0] ?? source.length);
    const templates = podTemplates(doc.contents);
    if (templates.length === 0) {
      text += segment;
      return;
    }
    const before = snapshot(doc);
    for (const t of templates) {
      const was = JSON.stringify(t.node.toJSON());
      const found = injectPodTemplate(doc, t.node, { env, caConfigMap: options.caConfigMap, label: options.label });
      const status = found.containers + found.initContainers === 0 ? 'no containers' : was === JSON.stringify(t.node.toJSON()) ? 'unchanged' : 'injected';
      workloads.push({ kind: t.kind, name: t.name, status });
    }
    if (snapshot(doc) === before) {
      text += segment;
      return;
    }
    const style = styleOf(doc, source, segment);
    unJson(doc);
    text += doc.toString(style);
  });
  return { text, workloads };
}
