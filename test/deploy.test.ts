import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { configSchema } from '../src/config.js';
import { goModuleDir } from './support/go-module.js';
import './support/context.js';

// deploy/ as a cluster would get it: every overlay (and every component on top of the example
// overlay) rendered by `kubectl kustomize`, each object validated offline by kubectl-validate
// against the Kubernetes schemas it embeds and the CRDs of the KEDA release deploy/README.md
// installs, then checked for what a reviewer looks for.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const KUBERNETES_VERSION = '1.30';
const KEDA = { module: 'github.com/kedacore/keda/v2', version: 'v2.21.0' };
const KEDA_CRDS = ['keda.sh_scaledobjects.yaml', 'keda.sh_triggerauthentications.yaml'];
const SETTINGS = new Set(Object.keys(configSchema.shape));

interface Target {
  name: string;
  /** A folder of deploy/, or components applied over overlays/example. */
  dir?: string;
  components?: string[];
}

const dirsIn = (dir: string): string[] => readdirSync(join(DEPLOY, dir), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const TARGETS: Target[] = [
  { name: 'base', dir: 'base' },
  ...dirsIn('overlays').map((o) => ({ name: `overlays/${o}`, dir: `overlays/${o}` })),
  ...dirsIn('components').map((c) => ({ name: `overlays/example + components/${c}`, components: [`components/${c}`] })),
];

// Just the fields the checks read.
type Labels = Record<string, string>;
interface K8sObject { apiVersion: string; kind: string; metadata: { name: string }; [field: string]: unknown }
interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }
interface Probe { httpGet?: { path: string; port: string | number } }
interface SecurityContext {
  runAsNonRoot?: boolean; runAsUser?: number; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[] }; seccompProfile?: { type: string };
}
interface Container {
  name: string; image: string; args?: string[]; command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[]; envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext; volumeMounts?: { name: string; mountPath: string }[];
  startupProbe?: Probe; livenessProbe?: Probe; readinessProbe?: Probe;
}
interface PodSpec {
  containers: Container[]; initContainers?: Container[]; securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number; volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
}
interface Deployment extends K8sObject {
  spec: { replicas?: number; selector: { matchLabels: Labels }; template: { metadata: { labels: Labels }; spec: PodSpec } };
}
interface Service extends K8sObject { spec: { selector: Labels; ports: { name: string; port: number; targetPort: string | number }[] } }
interface Budget extends K8sObject { spec: { selector: { matchLabels: Labels } } }
interface ConfigMap extends K8sObject { data: Record<string, string> }
interface ScaleTarget { kind: string; name: string; envSourceContainerName?: string }
interface Trigger { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }
interface ScaledObject extends K8sObject {
  spec: { scaleTargetRef: ScaleTarget; minReplicaCount: number; maxReplicaCount: number; triggers: Trigger[] };
}
interface TriggerAuthentication extends K8sObject { spec: { secretTargetRef: { parameter: string; name: string; key: string }[] } }
interface Autoscaler extends K8sObject { spec: { scaleTargetRef: ScaleTarget; metrics: { resource?: { name: string } }[] } }

let workDir: string;
let crdDir: string;
const rendered = new Map<string, { yaml: string; objects: K8sObject[] }>();

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'harvester-deploy-'));
  crdDir = join(workDir, 'crds');
  await mkdir(crdDir);
  const keda = await goModuleDir(KEDA.module, KEDA.version);
  for (const file of KEDA_CRDS) {
    const source = join(keda, 'config', 'crd', 'bases', file);
    if (!existsSync(source)) throw new Error(`KEDA ${KEDA.version} has no ${file} in config/crd/bases: did the file names change?`);
    await copyFile(source, join(crdDir, file));
  }
  for (const target of TARGETS) {
    const yaml = await kustomize(await kustomizationDir(target));
    rendered.set(target.name, { yaml, objects: parseAllDocuments(yaml).map((doc) => doc.toJS() as K8sObject) });
  }
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

it('pins the KEDA release that deploy/README.md installs', async () => {
  const readme = await readFile(join(DEPLOY, 'README.md'), 'utf8');
  expect(readme).toContain(`releases/download/${KEDA.version}/keda-${KEDA.version.slice(1)}.yaml`);
});

describe.each(TARGETS)('$name', (target) => {
  const objects = (): K8sObject[] => rendered.get(target.name)!.objects;
  const all = <T extends K8sObject>(kind: string): T[] => objects().filter((o) => o.kind === kind) as T[];
  const one = <T extends K8sObject>(kind: string, name: string): T => {
    const found = all<T>(kind).filter((o) => o.metadata.name === name);
    expect(found, `${kind} ${name}`).toHaveLength(1);
    return found[0]!;
  };
  const deployments = (): Deployment[] => all<Deployment>('Deployment');
  const api = (): Deployment => one<Deployment>('Deployment', 'harvester-api');
  const worker = (): Deployment => one<Deployment>('Deployment', 'harvester-worker');
  const configMap = (): ConfigMap => {
    const maps = all<ConfigMap>('ConfigMap');
    expect(maps).toHaveLength(1);
    return maps[0]!;
  };
  const settings = (container: Container): Record<string, string> => effectiveEnv(container, configMap());

  it(`passes kubectl-validate (Kubernetes ${KUBERNETES_VERSION}, KEDA ${KEDA.version} CRDs)`, async () => {
    const failures = await validate(target.name, rendered.get(target.name)!.yaml);
    expect(failures).toEqual([]);
  });

  it('runs every container as non-root on a read-only filesystem, with requests and limits', () => {
    for (const deployment of deployments()) {
      const pod = deployment.spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${deployment.metadata.name}/${c.name}`;
        const security = { ...pod.securityContext, ...c.securityContext };
        expect(security, where).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
        expect(security.runAsUser, where).toBe(1000);
        expect(security.capabilities?.drop, where).toContain('ALL');
        expect(security.seccompProfile?.type, where).toBe('RuntimeDefault');
        for (const kind of ['requests', 'limits'] as const) {
          expect(Object.keys(c.resources?.[kind] ?? {}), `${where} ${kind}`).toEqual(expect.arrayContaining(['cpu', 'memory']));
        }
        // A read-only root needs a writable /tmp.
        expect(emptyDirAt(pod, c, '/tmp'), `${where} /tmp`).toBeDefined();
        // The command is one the build produces: dist/<x>.js from <x>.ts.
        const entry = [...(c.command ?? []), ...(c.args ?? [])].find((a) => a.startsWith('dist/'));
        expect(entry && existsSync(join(ROOT, entry.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${where} runs ${entry}`).toBe(true);
        if (target.name !== 'base') expect(c.image, where).toMatch(/^[^/]+\/.+:[\w.-]+$/);
      }
    }
  });

  it('probes the api on its port and sends the Service only to api pods', () => {
    const pod = api().spec.template.spec;
    const container = pod.containers.find((c) => c.name === 'api')!;
    const port = configSchema.parse(settings(container)).PORT;
    expect(probe(container, 'livenessProbe')).toEqual({ path: '/healthz', port });
    expect(probe(container, 'startupProbe')).toEqual({ path: '/healthz', port });
    expect(probe(container, 'readinessProbe')).toEqual({ path: '/readyz', port });
    expect(pod.initContainers?.map((c) => c.args?.join(' '))).toEqual(['node dist/scripts/migrate.js']);

    const service = one<Service>('Service', 'harvester-api');
    expect(selects(service.spec.selector, api())).toBe(true);
    expect(selects(service.spec.selector, worker())).toBe(false);
    expect(service.spec.ports).toHaveLength(1);
    expect(service.spec.ports[0]).toMatchObject({ name: 'http', port: 80 });
    expect(portNumber(container, service.spec.ports[0]!.targetPort)).toBe(port);
    expect(api().spec.replicas).toBeGreaterThanOrEqual(2);
  });

  it('gives each disruption budget exactly one Deployment, and each Deployment one budget', () => {
    const budgets = all<Budget>('PodDisruptionBudget');
    for (const budget of budgets) {
      const matched = deployments().filter((d) => selects(budget.spec.selector.matchLabels, d)).map((d) => d.metadata.name);
      expect(matched, `PodDisruptionBudget ${budget.metadata.name}`).toHaveLength(1);
    }
    for (const d of deployments()) {
      expect(budgets.filter((b) => selects(b.spec.selector.matchLabels, d)), d.metadata.name).toHaveLength(1);
    }
  });

  it('lets the worker finish its activities before the kill, and probes its metrics port', () => {
    const pod = worker().spec.template.spec;
    const container = pod.containers.find((c) => c.name === 'worker')!;
    const config = configSchema.parse(settings(container));
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(config.WORKER_SHUTDOWN_GRACE_SECONDS);
    const [host, port] = (config.WORKER_METRICS_ADDRESS ?? '').split(':');
    expect(host, 'the kubelet reaches the metrics server from outside the pod').toBe('0.0.0.0');
    expect(probe(container, 'startupProbe')).toEqual({ path: '/metrics', port: Number(port) });
    expect(probe(container, 'livenessProbe')).toEqual({ path: '/metrics', port: Number(port) });
    const scratch = emptyDirAt(pod, container, config.SCRATCH_DIR ?? '');
    expect(scratch?.sizeLimit, 'SCRATCH_DIR is a size-limited emptyDir').toBeDefined();
    // The autoscaler owns the count: an apply must not reset it.
    expect(worker().spec.replicas).toBeUndefined();
  });

  it('autoscales the rendered worker on the task queue it polls', () => {
    const scaled = all<ScaledObject>('ScaledObject');
    const hpas = all<Autoscaler>('HorizontalPodAutoscaler');
    expect(scaled.length + hpas.length, 'one autoscaler for the worker').toBe(1);
    const ref = scaled[0]?.spec.scaleTargetRef ?? hpas[0]!.spec.scaleTargetRef;
    expect(ref).toMatchObject({ kind: 'Deployment', name: worker().metadata.name });
    if (hpas[0]) {
      expect(hpas[0].spec.metrics.map((m) => m.resource?.name)).toEqual(['cpu']);
      expect(all('TriggerAuthentication'), 'no KEDA object is left without KEDA').toEqual([]);
      return;
    }
    const { spec } = scaled[0]!;
    expect(spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(spec.maxReplicaCount).toBeGreaterThan(spec.minReplicaCount);
    expect(spec.triggers.map((t) => t.type).sort()).toEqual(['cpu', 'temporal']);

    // KEDA reads `x` from the metadata, or `xFromEnv` from the target container's environment.
    const containers = worker().spec.template.spec.containers;
    const container = ref.envSourceContainerName ? containers.find((c) => c.name === ref.envSourceContainerName)! : containers[0]!;
    const env = settings(container);
    const temporal = spec.triggers.find((t) => t.type === 'temporal')!;
    const param = (name: string): string | undefined => temporal.metadata[name] ?? env[temporal.metadata[`${name}FromEnv`] ?? ''];
    const data = configMap().data;
    expect(param('endpoint')).toBe(data.TEMPORAL_ADDRESS);
    expect(param('namespace')).toBe(data.TEMPORAL_NAMESPACE);
    expect(param('taskQueue')).toBe(data.TEMPORAL_TASK_QUEUE);
    expect(Number(temporal.metadata.targetQueueSize)).toBeGreaterThan(0);

    // The trigger's API key is the one the worker connects with.
    const auth = one<TriggerAuthentication>('TriggerAuthentication', temporal.authenticationRef?.name ?? '');
    const apiKey = auth.spec.secretTargetRef.find((s) => s.parameter === 'apiKey');
    const workerKey = container.env?.find((e) => e.name === 'TEMPORAL_API_KEY')?.valueFrom?.secretKeyRef;
    expect(apiKey, 'the trigger authenticates with an API key').toBeDefined();
    expect(apiKey && { name: apiKey.name, key: apiKey.key }).toEqual(workerKey && { name: workerKey.name, key: workerKey.key });
  });

  it('sets only real settings of src/config.ts, with values it accepts', () => {
    const names = new Set(Object.keys(configMap().data));
    for (const d of deployments()) {
      const pod = d.spec.template.spec;
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        for (const e of c.env ?? []) names.add(e.name);
        for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) names.add(e.valueFrom.secretKeyRef.key);
        for (const from of c.envFrom ?? []) expect(from.secretRef, `${c.name}: secrets by key only`).toBeUndefined();
        const parsed = configSchema.safeParse(settings(c));
        expect(parsed.error?.issues ?? [], `${d.metadata.name}/${c.name}`).toEqual([]);
      }
    }
    expect([...names].filter((n) => !SETTINGS.has(n))).toEqual([]);
  });
});

it('refuses a corrupted render: the validator is not a no-op', async () => {
  const objects = rendered.get('overlays/example')!.objects.map((o) => structuredClone(o));
  const find = (kind: string, name: string): K8sObject => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  // A misspelled field, a string where an integer belongs, a trigger setting outside `metadata`.
  const apiSpec = (find('Deployment', 'harvester-api') as Deployment).spec as Record<string, unknown>;
  apiSpec.replica = apiSpec.replicas;
  delete apiSpec.replicas;
  const port = (find('Deployment', 'harvester-worker') as Deployment).spec.template.spec.containers[0]!.ports![0]! as { containerPort: unknown };
  port.containerPort = String(port.containerPort);
  const trigger = (find('ScaledObject', 'harvester-worker') as ScaledObject).spec.triggers[0]! as Trigger & Record<string, unknown>;
  trigger.targetQueueSize = trigger.metadata.targetQueueSize;

  const failures = await validate('corrupted', objects.map((o) => stringify(o)).join('---\n'));
  expect(failures.map((f) => f.object)).toEqual(['Deployment harvester-api', 'Deployment harvester-worker', 'ScaledObject harvester-worker']);
  expect(failures[0]!.message).toContain('spec.replica: Invalid value: value provided for unknown field');
  expect(failures[1]!.message).toContain('spec.template.spec.containers[0].ports[0].containerPort in body must be of type integer');
  expect(failures[2]!.message).toContain('spec.triggers[0].targetQueueSize: Invalid value: value provided for unknown field');
});

async function kustomizationDir(target: Target): Promise<string> {
  if (target.dir) return join(DEPLOY, target.dir);
  // Kustomize takes relative paths only: a throwaway overlay that points back into deploy/.
  const dir = join(workDir, 'kustomize', target.name.replace(/[^a-z0-9]+/gi, '-'));
  await mkdir(dir, { recursive: true });
  const rel = (path: string): string => relative(dir, join(DEPLOY, path));
  await writeFile(join(dir, 'kustomization.yaml'), stringify({ resources: [rel('overlays/example')], components: (target.components ?? []).map(rel) }));
  return dir;
}

async function kustomize(dir: string): Promise<string> {
  try {
    return (await run('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('kubectl is not on PATH: install kubectl (https://kubernetes.io/docs/tasks/tools/) to render deploy/ with `kubectl kustomize`.', {
        cause: err,
      });
    }
    throw new Error(`\`kubectl kustomize ${relative(ROOT, dir)}\` failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
}

interface Failure { object: string; message: string }

/** kubectl-validate on one multi-document file: the objects it refuses, with its messages. */
async function validate(name: string, yaml: string): Promise<Failure[]> {
  const file = join(workDir, `${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
  await writeFile(file, yaml);
  const args = [file, '--version', KUBERNETES_VERSION, '--local-crds', crdDir, '--output', 'json'];
  // No kubeconfig and no in-cluster variables: the embedded schemas, never a live cluster's.
  const env = { PATH: process.env.PATH, KUBECONFIG: join(workDir, 'no-kubeconfig') };
  const { stdout, code } = await run(inject('kubectlValidateBinary'), args, { env, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => ({ stdout, code: 0 }),
    (err: { stdout?: string; stderr?: string; code?: number }) => {
      // 1: some object is invalid; anything else: the tool itself failed.
      if (err.code !== 1) throw new Error(`kubectl-validate failed (exit ${err.code}): ${err.stderr ?? ''}${err.stdout ?? ''}`);
      return { stdout: err.stdout ?? '', code: 1 };
    },
  );
  const statuses = (JSON.parse(stdout) as Record<string, { status: string; message?: string }[]>)[file] ?? [];
  const documents = parseAllDocuments(yaml).map((doc) => doc.toJS() as K8sObject);
  expect(statuses, 'one result per object').toHaveLength(documents.length);
  const failures = statuses.flatMap((s, i) =>
    s.status === 'Success' ? [] : [{ object: `${documents[i]!.kind} ${documents[i]!.metadata.name}`, message: s.message ?? JSON.stringify(s) }],
  );
  expect(failures.length > 0, 'the exit code agrees with the results').toBe(code === 1);
  return failures;
}

/** The container's environment as the process sees it: envFrom ConfigMap, then env (not secrets). */
function effectiveEnv(container: Container, configMap: ConfigMap): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      expect(from.configMapRef.name, `${container.name} reads the rendered ConfigMap`).toBe(configMap.metadata.name);
      Object.assign(env, configMap.data);
    }
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  // An empty variable means "not set" to loadConfig().
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
}

function selects(selector: Labels, deployment: Deployment): boolean {
  const labels = deployment.spec.template.metadata.labels;
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function portNumber(container: Container, port: string | number): number | undefined {
  return typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
}

function probe(container: Container, kind: 'startupProbe' | 'livenessProbe' | 'readinessProbe'): { path: string; port: number | undefined } | undefined {
  const get = container[kind]?.httpGet;
  return get && { path: get.path, port: portNumber(container, get.port) };
}

function emptyDirAt(pod: PodSpec, container: Container, path: string): { sizeLimit?: string } | undefined {
  const mount = container.volumeMounts?.find((m) => m.mountPath === path);
  return pod.volumes?.find((v) => v.name === mount?.name)?.emptyDir;
}
