import { readFile } from 'node:fs/promises';
import { text as readStream } from 'node:stream/consumers';
import { Option, type Command } from 'commander';
import { K8sError } from '../k8s/errors.js';
import { isRenderMode, RENDER_MODES } from '../k8s/modes.js';
import { DEFAULT_CA_CONFIGMAP } from '../k8s/names.js';
import { DEFAULT_IMAGE, DEFAULT_INGRESS_CONTROLLER_NAMESPACE, DEFAULT_NAMESPACE, DEFAULT_REPLICAS, defaultReplicas, parseReplicas, parseUiIngress, type IssuerKind, type UiIngressOptions } from '../k8s/options.js';
import { UsageError } from './usage-error.js';

// The k8s modules (schema validators, the yaml editor, x509) load only when a k8s command runs,
// so they add nothing to the start-up of the proxy commands.

export interface K8sCommandIO {
  /** Results (YAML); stdout unless a test captures them. */
  write?: (text: string) => void;
  /** Notes for the person (what inject changed); stderr unless captured. */
  note?: (text: string) => void;
  /** Reads standard input (`-f -`); process.stdin unless a test supplies it. */
  stdin?: () => Promise<string>;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Errors a person can fix become UsageError (exit 2); anything else is a bug and propagates. */
async function userFacing<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof K8sError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory, not a file' };
    throw new UsageError(`cannot read ${what} '${path}': ${why[code] ?? code}; check the path`, { cause: err });
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError('k8s inject reads manifests from standard input, and none is piped in: pass -f FILE, or pipe them, e.g. kubectl get deploy web -o yaml | egresskit k8s inject --proxy URL');
  }
  return readStream(process.stdin);
}

interface RenderFlags {
  namespace: string;
  image: string;
  replicas?: string;
  config?: string;
  certManager?: boolean;
  issuer?: string;
  issuerKind: IssuerKind;
  createNamespace?: boolean;
  workloadNamespace?: string;
  flowsDbSize?: string;
  uiIngress?: string;
  uiIngressClass?: string;
  uiIngressTls?: string;
  uiIngressControllerNamespace?: string;
}

function uiIngressOf(flags: RenderFlags): UiIngressOptions | undefined {
  const extras = (['uiIngressClass', 'uiIngressTls', 'uiIngressControllerNamespace'] as const).filter((k) => flags[k] !== undefined);
  if (flags.uiIngress === undefined) {
    if (extras.length > 0) throw new UsageError(`--${extras[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} only applies with --ui-ingress HOST[/PATH]: add it, or drop the flag`);
    return undefined;
  }
  return {
    ...parseUiIngress(flags.uiIngress),
    className: flags.uiIngressClass,
    tlsSecret: flags.uiIngressTls,
    controllerNamespace: flags.uiIngressControllerNamespace ?? DEFAULT_INGRESS_CONTROLLER_NAMESPACE,
  };
}

export function registerK8sCommands(program: Command, io: K8sCommandIO = {}): void {
  const write = io.write ?? ((text: string) => void process.stdout.write(text));
  const note = io.note ?? ((text: string) => void process.stderr.write(text));
  const stdin = io.stdin ?? readStdin;
  const k8s = program.command('k8s').description('Kubernetes: manifests for the proxy, kustomize bases, proxy settings for workloads, CA bundles.');

  k8s
    .command('render')
    .description('Print the manifests for one proxy mode as a YAML stream; pipe it to kubectl apply -f -.')
    .argument('<mode>', RENDER_MODES.join(', '))
    .option('--namespace <ns>', 'namespace of the proxy', DEFAULT_NAMESPACE)
    .option('--image <image>', 'egresskit container image', DEFAULT_IMAGE)
    .option('--replicas <n>', `replicas (the autoscaler minimum) (default: ${DEFAULT_REPLICAS}; inspect runs exactly 1)`)
    .option('-c, --config <file>', 'egresskit config file to ship in the ConfigMap (policy, auth, timeouts...)')
    .option('--cert-manager', 'mtls: cert-manager Certificates for the server and an example client instead of a Secret made by hand')
    .option('--issuer <name>', 'with --cert-manager: an existing CA issuer (default: render a self-signed CA and its Issuer)')
    .addOption(new Option('--issuer-kind <kind>', 'kind of --issuer').choices(['Issuer', 'ClusterIssuer']).default('Issuer'))
    .option('--create-namespace', 'also render the Namespace')
    .option('--workload-namespace <ns>', 'namespace for the example workload NetworkPolicy (default: none; kubectl apply -n decides)')
    .option('--flows-db-size <size>', 'inspect: keep flows across restarts in a PersistentVolumeClaim of this size, e.g. 1Gi (sets inspect.flowsDb)')
    .option('--ui-ingress <host[/path]>', 'inspect: an Ingress for the UI at this host and path, e.g. egress.example.com/egress (sets inspect.uiBasePath and uiAllowedHosts)')
    .option('--ui-ingress-class <name>', 'with --ui-ingress: the IngressClass (default: the cluster default)')
    .option('--ui-ingress-tls <secret>', 'with --ui-ingress: a kubernetes.io/tls Secret for the host')
    .option('--ui-ingress-controller-namespace <ns>', `with --ui-ingress: the ingress controller's namespace, let through the NetworkPolicy to the UI port (default: ${DEFAULT_INGRESS_CONTROLLER_NAMESPACE})`)
    .action(async (mode: string, flags: RenderFlags) => {
      if (!isRenderMode(mode)) {
        throw new UsageError(`unknown mode '${mode}': use egresskit k8s render ${RENDER_MODES.join(', egresskit k8s render ')}`);
      }
      if (flags.issuer !== undefined && !flags.certManager) throw new UsageError('--issuer only applies with --cert-manager: add --cert-manager, or drop --issuer');
      const [{ renderYaml }, { readConfigFile, ConfigError }] = await Promise.all([import('../k8s/render.js'), import('../config/load.js')]);
      let config: unknown;
      try {
        config = flags.config === undefined ? undefined : readConfigFile(flags.config);
      } catch (err) {
        if (err instanceof ConfigError) throw new UsageError(err.message, { cause: err });
        throw err;
      }
      const yaml = await userFacing(() =>
        renderYaml({
          mode,
          namespace: flags.namespace,
          image: flags.image,
          replicas: flags.replicas === undefined ? defaultReplicas(mode) : parseReplicas(flags.replicas),
          config,
          configSource: flags.config,
          certManager: flags.certManager ? { issuer: flags.issuer === undefined ? undefined : { name: flags.issuer, kind: flags.issuerKind } } : undefined,
          createNamespace: flags.createNamespace,
          workloadNamespace: flags.workloadNamespace,
          flowsDbSize: flags.flowsDbSize,
          uiIngress: uiIngressOf(flags),
        }),
      );
      write(yaml);
    });

  k8s
    .command('bases')
    .description(`Write the kustomize bases (${RENDER_MODES.map((m) => `DIR/${m}`).join(', ')}) that render produces; --check only compares.`)
    .option('--out <dir>', 'directory to write into', 'deploy')
    .option('--check', 'write nothing; exit 1 and list the files that differ from what render produces')
    .action(async (flags: { out: string; check?: boolean }) => {
      const { diffBases, writeBases } = await import('../k8s/bases.js');
      if (flags.check) {
        const problems = await diffBases(flags.out);
        if (problems.length > 0) {
          note(`egresskit: the kustomize bases in ${flags.out} are out of date:\n${problems.map((p) => `  ${p}`).join('\n')}\nRegenerate them: npm run deploy:generate\n`);
          process.exitCode = 1;
        }
        return;
      }
      const { written, removed } = await writeBases(flags.out);
      const lines = [...written.map((p) => `  wrote ${p}`), ...removed.map((p) => `  removed ${p}`)];
      note(lines.length ? `${flags.out}:\n${lines.join('\n')}\n` : `${flags.out}: up to date\n`);
    });

  // `--no-proxy` is what everyone calls it, but commander reads any --no-X as "negate --X" (here
  // --proxy). Clearing `negate` before the option is added makes it a plain option with a value.
  const noProxy = new Option('--no-proxy <hosts>', 'more NO_PROXY entries, comma-separated, repeatable (e.g. .corp.example,10.0.0.0/8)').argParser(collect);
  noProxy.negate = false;

  k8s
    .command('inject')
    .description('Add HTTP(S)_PROXY, NO_PROXY (and a CA bundle) to every container of the workloads in a YAML stream.')
    .requiredOption('--proxy <url>', 'proxy URL, e.g. http://egresskit-forward.egresskit.svc:8888')
    .addOption(noProxy)
    .option('--ca-configmap <name>', `mount this ConfigMap's ca-bundle.crt and point the CA variables at it (see k8s ca-configmap)`)
    .option('--label', 'also label the Pod templates egresskit.io/egress=true, which the NetworkPolicies select')
    .option('-f, --filename <file>', "manifests to read; '-' is standard input", '-')
    .action(async (flags: { proxy: string; noProxy?: string[]; caConfigmap?: string; label?: boolean; filename: string }) => {
      const fromStdin = flags.filename === '-';
      const source = fromStdin ? await stdin() : await readInput(flags.filename, '-f file');
      const { injectManifests } = await import('../k8s/inject/inject.js');
      const result = await userFacing(() =>
        injectManifests(source, { proxy: flags.proxy, noProxy: flags.noProxy, caConfigMap: flags.caConfigmap, label: flags.label }, fromStdin ? 'standard input' : flags.filename),
      );
      write(result.text);
      for (const w of result.workloads) note(`${w.kind.toLowerCase()}/${w.name} ${w.status === 'no containers' ? 'skipped: no containers' : w.status}\n`);
      if (result.workloads.length === 0) note('egresskit: no workloads found (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod); the input is printed unchanged\n');
    });

  k8s
    .command('ca-configmap')
    .description('Print a ConfigMap whose ca-bundle.crt is the system roots plus the proxy CA (for k8s inject --ca-configmap).')
    .requiredOption('--ca <file>', 'proxy CA certificate, PEM')
    .option('--name <name>', 'ConfigMap name', DEFAULT_CA_CONFIGMAP)
    .option('--namespace <ns>', 'namespace (omitted: kubectl uses the current one)')
    .option('--system-roots <file>', "trust store to extend, PEM (default: the Mozilla roots built into Node.js)")
    .action(async (flags: { ca: string; name: string; namespace?: string; systemRoots?: string }) => {
      const caPem = await readInput(flags.ca, '--ca file');
      const { caConfigMapYaml } = await import('../k8s/ca-bundle.js');
      const systemRootsPem = flags.systemRoots === undefined ? undefined : await readInput(flags.systemRoots, '--system-roots file');
      write(
        await userFacing(() =>
          caConfigMapYaml({ caPem, caSource: flags.ca, name: flags.name, namespace: flags.namespace, systemRootsPem, systemRootsSource: flags.systemRoots }),
        ),
      );
    });
}
