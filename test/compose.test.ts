import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { WEBHOOK_TARGET_ID } from '../scripts/lib/minio.js';
import { configSchema, loadConfig } from '../src/config.js';
import { SEARCH_ATTRIBUTES } from '../src/contracts/common.js';
import { uniqueId } from './support/stack.js';

// docker-compose.yml cannot run here (no Docker engine), so it is checked the way Compose itself
// reads it: tools/compose-config runs compose-go's loader (what `docker compose config` runs),
// which validates it against the Compose Specification's JSON schema, parses its values and
// checks its consistency. The test then reads the project it prints and checks that the parts
// agree with each other and with Harvester.

const run = promisify(execFile);

/** The runtime stage's `ENV` of the Dockerfile (its last stage), as name → value. */
async function imageEnv(): Promise<Record<string, string>> {
  const dockerfile = (await readFile(new URL('../Dockerfile', import.meta.url), 'utf8')).replace(/\\\n/g, ' ');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  return Object.fromEntries([...runtime.matchAll(/^ENV (.+)$/gm)].flatMap((m) => [...m[1]!.matchAll(/(\w+)=(\S+)/g)].map((kv) => [kv[1]!, kv[2]!])));
}
const REPO = new URL('..', import.meta.url).pathname;
const HARVESTER = ['storage-init', 'migrate', 'api', 'worker'] as const;
const ONE_SHOT = ['temporal-schema', 'temporal-namespace', 'storage-init', 'migrate'];
/** Nothing waits for the Web UI, and its image has no tool to probe itself with. */
const UNCHECKED = ['temporal-ui'];
/** Official images only, each pinned to a release. */
const OFFICIAL = /^(postgres|temporalio\/(server|admin-tools|ui)|minio\/minio):[\w.-]+$/;

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  volumes?: { type: string; source: string; target: string }[];
  ports?: { target: number; published: string }[];
}
interface Model {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

/** compose-go's verdict on a compose file: its normalised model, or its error. */
async function composeConfig(file: string, cwd = REPO): Promise<{ model?: Model; error?: string }> {
  try {
    const { stdout } = await run(inject('composeConfigBinary'), [file], {
      cwd,
      // Only what the file's own ${VAR:-default}s say: nothing from the caller's environment.
      env: { PATH: process.env.PATH },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { model: JSON.parse(stdout) as Model };
  } catch (err) {
    const { stderr, stdout, message } = err as { stderr?: string; stdout?: string; message: string };
    return { error: `${stderr ?? ''}${stdout ?? ''}` || message };
  }
}

let model: Model;
let service: (name: string) => Service;
const env = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, v ?? '']));

beforeAll(async () => {
  const { model: loaded, error } = await composeConfig('docker-compose.yml');
  expect(error, 'docker-compose.yml must load without errors').toBeUndefined();
  model = loaded!;
  service = (name) => {
    const found = model.services[name];
    if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
    return found;
  };
});

describe('docker-compose.yml', () => {
  it('runs the whole stack from official images, pinned, and Harvester from its own Dockerfile', () => {
    expect(Object.keys(model.services).sort()).toEqual(
      ['api', 'migrate', 'minio', 'postgres', 'storage-init', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker'],
    );
    for (const [name, svc] of Object.entries(model.services)) {
      if ((HARVESTER as readonly string[]).includes(name)) {
        expect(svc.build, name).toMatchObject({ context: REPO.replace(/\/$/, ''), dockerfile: 'Dockerfile' });
        expect(svc.image, name).toBe(service('api').image);
      } else {
        expect(svc.image, name).toMatch(OFFICIAL);
      }
    }
    // One Temporal release for the server and the tools that set up its schema.
    const tag = (name: string): string => service(name).image!.split(':')[1]!;
    expect(tag('temporal-schema')).toBe(tag('temporal'));
    expect(tag('temporal-namespace')).toBe(tag('temporal'));
  });

  it('declares health checks and start order: nothing starts before what it needs is healthy or done', () => {
    for (const [name, svc] of Object.entries(model.services)) {
      if (ONE_SHOT.includes(name)) expect(svc.restart, name).toMatch(/^(no|on-failure(:\d+)?)$/);
      else if (!UNCHECKED.includes(name)) expect(svc.healthcheck?.test?.length, `${name} needs a health check`).toBeGreaterThan(0);
    }
    const condition = (name: string, on: string): string | undefined => service(name).depends_on?.[on]?.condition;
    expect(condition('temporal-schema', 'postgres')).toBe('service_healthy');
    expect(condition('temporal', 'temporal-schema')).toBe('service_completed_successfully');
    expect(condition('temporal-namespace', 'temporal')).toBe('service_healthy');
    expect(condition('temporal-ui', 'temporal')).toBe('service_healthy');
    expect(condition('storage-init', 'minio')).toBe('service_healthy');
    expect(condition('migrate', 'postgres')).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      for (const before of ['migrate', 'storage-init', 'temporal-namespace']) {
        expect(condition(name, before), `${name} after ${before}`).toBe('service_completed_successfully');
      }
    }
  });

  it('gives every Harvester container a configuration Harvester accepts, pointing at the stack', async () => {
    const settings = new Set(Object.keys(configSchema.shape));
    // As the container sees it: the image's own ENV (NODE_ENV=production), then the compose file's.
    const image = await imageEnv();
    expect(image.NODE_ENV).toBe('production');
    for (const name of HARVESTER) {
      const vars = env(name);
      for (const key of Object.keys(vars)) expect(settings.has(key) || key.startsWith('OTEL_'), `${name}: ${key} is not a setting`).toBe(true);
      const config = loadConfig({ env: { ...image, ...vars }, envFile: false });
      expect(new URL(config.S3_ENDPOINT).hostname, name).toBe('minio');
      expect(new URL(config.DATABASE_URL).hostname, name).toBe('postgres');
      expect(decodeURIComponent(new URL(config.DATABASE_URL).password), name).toBe(env('postgres').POSTGRES_PASSWORD);
      expect(config.TEMPORAL_ADDRESS.split(':')[0], name).toBe('temporal');
      expect(config.TEMPORAL_NAMESPACE, name).toBe(env('temporal-namespace').TEMPORAL_NAMESPACE);
      expect(config.S3_ACCESS_KEY_ID, name).toBe(env('minio').MINIO_ROOT_USER);
      expect(config.S3_SECRET_ACCESS_KEY, name).toBe(env('minio').MINIO_ROOT_PASSWORD);
    }
    // The Web UI link in status answers opens the UI's published port.
    const ui = service('temporal-ui').ports?.find((p) => p.target === 8080);
    expect(loadConfig({ env: env('api'), envFile: false }).TEMPORAL_UI_URL).toBe(`http://localhost:${ui?.published}`);
    // The worker's grace ends before Docker's SIGKILL.
    const grace = loadConfig({ env: env('worker'), envFile: false }).WORKER_SHUTDOWN_GRACE_SECONDS;
    expect(model.services.worker).toHaveProperty('stop_grace_period');
    expect(parseDuration((model.services.worker as { stop_grace_period: string }).stop_grace_period)).toBeGreaterThan(grace);
  });

  it("sends MinIO's new-object events to the api's S3 webhook through an on-disk queue", () => {
    const minio = env('minio');
    const api = loadConfig({ env: env('api'), envFile: false });
    const target = WEBHOOK_TARGET_ID;
    expect(minio[`MINIO_NOTIFY_WEBHOOK_ENABLE_${target}`]).toBe('on');
    expect(minio[`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${target}`]).toBe(`http://api:${api.PORT}/api/v1/events/s3`);
    expect(minio[`MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${target}`]).toBe(api.WEBHOOK_TOKEN);
    // The queue survives a restart of the container: it is on a named volume.
    const queueDir = minio[`MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_${target}`];
    const mount = service('minio').volumes?.find((v) => v.target === queueDir);
    expect(mount?.type).toBe('volume');
    expect(Object.keys(model.volumes)).toContain(mount?.source);
    // The init container binds the bucket with the same code `npm start` uses.
    expect(service('storage-init').command).toEqual(['node', 'dist/scripts/setup-storage.js']);
  });

  it("sets up Temporal's schemas and the namespace with Harvester's search attributes, from mounted scripts", async () => {
    const scripts: Record<string, string> = {};
    for (const name of ['temporal-schema', 'temporal-namespace']) {
      const mounts = service(name).volumes ?? [];
      expect(mounts.length, name).toBeGreaterThan(0);
      for (const mount of mounts) {
        expect(mount.type).toBe('bind');
        scripts[name] = await readFile(mount.source, 'utf8');
        expect(service(name).entrypoint).toEqual(['/bin/sh', mount.target]);
      }
    }
    expect(scripts['temporal-schema']).toContain('SCHEMA_DIR=/etc/temporal/schema/postgresql/v12\n');
    expect(scripts['temporal-schema']).toContain('set_up temporal "$SCHEMA_DIR/temporal/versioned"');
    expect(scripts['temporal-schema']).toContain('set_up temporal_visibility "$SCHEMA_DIR/visibility/versioned"');
    for (const key of SEARCH_ATTRIBUTES) expect(scripts['temporal-namespace']).toContain(key.name);
    expect(SEARCH_ATTRIBUTES.every((key) => key.type === 'KEYWORD')).toBe(true);
  });

  it('creates the namespace and the search attributes with its setup script, and can run it again', async () => {
    // The script as temporal-namespace runs it, with the same Temporal CLI the admin-tools image
    // carries, against the test's dev server and a namespace of its own.
    const namespace = uniqueId('compose-ns');
    const env = {
      PATH: `${dirname(inject('temporalBinary'))}:${process.env.PATH}`,
      // The CLI looks for its config file under HOME; there is none in this empty folder.
      HOME: tmpdir(),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: namespace,
      NAMESPACE_RETENTION: '1d',
    };
    const script = join(REPO, 'deploy', 'compose', 'temporal-namespace.sh');
    const first = await run('sh', [script], { env });
    expect(first.stdout).toContain(`created namespace ${namespace}`);
    for (const key of SEARCH_ATTRIBUTES) expect(first.stdout).toContain(`created search attribute ${key.name}`);
    const again = await run('sh', [script], { env });
    expect(again.stdout).toContain(`namespace ${namespace} exists`);
    for (const key of SEARCH_ATTRIBUTES) expect(again.stdout).toContain(`search attribute ${key.name} exists`);
    const { stdout } = await run(inject('temporalBinary'), ['operator', 'search-attribute', 'list', '--address', env.TEMPORAL_ADDRESS, '--namespace', namespace]);
    for (const key of SEARCH_ATTRIBUTES) expect(stdout).toMatch(new RegExp(`${key.name}\\s+Keyword`));
  }, 60_000);

  it('is refused by the same validator when it is wrong', async () => {
    const original = await readFile(join(REPO, 'docker-compose.yml'), 'utf8');
    const dir = await mkdtemp(join(tmpdir(), 'harvester-compose-'));
    try {
      const cases: [string, string, RegExp][] = [
        ['a misspelled key', original.replace('    healthcheck:\n      test: ["CMD", "nc"', '    healthchek:\n      test: ["CMD", "nc"'), /healthchek/],
        ['a dependency on a service that does not exist', original.replace('      temporal-schema:\n        condition', '      temporal-schemas:\n        condition'), /depends on undefined service "temporal-schemas"/],
        ['a duration that is not one', original.replace('stop_grace_period: 40s', 'stop_grace_period: forty'), /invalid duration "forty"/],
      ];
      for (const [what, text, problem] of cases) {
        expect(text, what).not.toBe(original);
        const file = join(dir, 'docker-compose.yml');
        await writeFile(file, text);
        const { error } = await composeConfig(file);
        expect(error, what).toMatch(problem);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('agrees with `docker compose config` where the Compose plugin exists', async () => {
    const plugin = await run('docker', ['compose', 'version']).then(() => true, () => false);
    if (!plugin) {
      // No plugin on this machine: tools/compose-config above runs the same loader.
      console.info('docker compose plugin not installed; compose-go alone validated the file');
      return;
    }
    const { stdout } = await run('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--format', 'json'], { cwd: REPO, env: { PATH: process.env.PATH } });
    expect(Object.keys((JSON.parse(stdout) as Model).services).sort()).toEqual(Object.keys(model.services).sort());
  });
});

describe('Dockerfile', () => {
  it('builds in stages from the official Node image and runs as a non-root user with production dependencies and the prebuilt workflow bundle', async () => {
    const text = await readFile(join(REPO, 'Dockerfile'), 'utf8');
    const lines = text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    const stages = lines.filter((l) => l.startsWith('FROM '));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:\d+-bookworm-slim$/m);
    for (const from of stages) expect(from).toMatch(/^FROM (\$\{NODE_IMAGE\}|node:[\w.-]+)( AS \w+)?$/);
    const final = lines.slice(lines.lastIndexOf(stages.at(-1)!));
    expect(final).toContain('USER node');
    // Production dependencies only in the final image; the compiled code and bundle from the build stage.
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(final.some((l) => /^COPY --from=build \/app\/dist/.test(l))).toBe(true);
    expect(final.some((l) => /^COPY --from=deps \/app\/node_modules/.test(l))).toBe(true);
    // The folders the code reads at run time, found beside package.json (src/support/package-folder.ts).
    for (const folder of ['migrations', 'prompts']) expect(final).toContain(`COPY ${folder} ./${folder}`);
    const bundle = /WORKFLOW_BUNDLE_PATH=(\S+)/.exec(text)?.[1];
    expect(bundle).toBe('/app/dist/workflow-bundle.js');
    expect(text).toContain('npm run build:workflows -- dist/workflow-bundle.js');
    // Every command docker-compose.yml runs in the image is a compiled entry point of the build.
    for (const name of HARVESTER) {
      const [node, entry] = service(name).command ?? [];
      expect(node).toBe('node');
      expect(entry).toMatch(/^dist\/(src|scripts)\/[\w/.-]+\.js$/);
      await expect(readFile(join(REPO, entry!.replace(/^dist\//, '').replace(/\.js$/, '.ts')))).resolves.toBeTruthy();
    }
  });
});

/** Seconds in a Compose duration such as `40s` or `1m30s`. */
function parseDuration(value: string): number {
  let seconds = 0;
  for (const [, n, unit] of value.matchAll(/(\d+)(h|m|s)/g)) seconds += Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'];
  return seconds;
}
