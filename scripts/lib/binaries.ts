import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import type { Log } from './process.js';

/** A Go program at a pinned version of a public module, built with `go install pkg@version`. */
interface ModuleSource {
  module: string;
  pkg: string;
  version: string;
}
/** A Go program of this repository's own (a module folder under tools/), built with `go build`. */
interface LocalSource {
  local: string;
}

/**
 * Go programs built into a cache folder outside the repo, once: the servers (the Temporal CLI
 * with its dev server, and MinIO) and the tools the tests check the deployment files with.
 * Exact versions make the build reproducible; changing a pin (or a local tool's source) rebuilds
 * that binary on the next run.
 */
export const BINARY_SOURCES = {
  // Later CLI tags carry a local `replace` directive and cannot be `go install`ed.
  temporal: { module: 'github.com/temporalio/cli', pkg: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' },
  // What `github.com/minio/minio@latest` resolved to (MinIO publishes no semver module tags).
  minio: {
    module: 'github.com/minio/minio',
    pkg: 'github.com/minio/minio',
    version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  },
  // Compose's own loader (what `docker compose config` runs), pinned in its go.mod: the Compose
  // Specification's JSON schema, typed parsing and consistency checks, without a Docker engine.
  'compose-config': { local: 'tools/compose-config' },
  // Validates manifests against the Kubernetes OpenAPI schemas it embeds, and CRDs given locally.
  'kubectl-validate': { module: 'sigs.k8s.io/kubectl-validate', pkg: 'sigs.k8s.io/kubectl-validate', version: 'v0.0.4' },
} as const satisfies Record<string, ModuleSource | LocalSource>;

export type BinaryName = keyof typeof BINARY_SOURCES;
export type Binaries<N extends BinaryName = ServerName> = Record<N, string>;

/** What `npm start` runs. */
export const SERVERS = ['temporal', 'minio'] as const satisfies readonly BinaryName[];
export type ServerName = (typeof SERVERS)[number];
/** What only the tests need, on top of the servers. */
export const TEST_TOOLS = ['compose-config', 'kubectl-validate'] as const satisfies readonly BinaryName[];

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const MIN_GO = { major: 1, minor: 25 };
const HEARTBEAT_MS = 10_000;

export interface EnsureBinariesOptions<N extends BinaryName> {
  /** Which binaries; the servers when not given. */
  names?: readonly N[];
  /** Aborting kills a running `go install`. */
  signal?: AbortSignal;
}

export async function ensureBinaries<N extends BinaryName = ServerName>(
  config: Pick<Config, 'HARVESTER_BIN_DIR'>,
  log: Log,
  options: EnsureBinariesOptions<N> = {},
): Promise<Binaries<N>> {
  const dir = resolve(config.HARVESTER_BIN_DIR);
  await mkdir(dir, { recursive: true });
  const out: Partial<Binaries<N>> = {};
  // One after the other: each build already uses every core.
  for (const name of options.names ?? (SERVERS as readonly BinaryName[] as readonly N[])) {
    out[name] = await ensureBinary(dir, name, log, options.signal);
  }
  return out as Binaries<N>;
}

async function ensureBinary(dir: string, name: BinaryName, log: Log, signal?: AbortSignal): Promise<string> {
  const source: ModuleSource | LocalSource = BINARY_SOURCES[name];
  const local = 'local' in source ? resolve(REPO_ROOT, source.local) : undefined;
  const wanted = 'local' in source ? `${source.local}@${await sourceHash(local!)}` : `${source.module}@${source.version}`;
  const binary = join(dir, name);
  const stamp = `${binary}.version`;

  const installed = await installedVersion(binary, stamp, 'module' in source ? source.module : undefined, log);
  if (installed === wanted || installed === UNVERIFIED) {
    log(`${name}: reusing ${binary}${installed === wanted ? ` (${wanted.split('@')[1]})` : ''}`);
    return binary;
  }
  const what = 'local' in source ? `./${source.local}` : `${source.pkg}@${source.version}`;
  log(
    installed === undefined
      ? `${name}: not built yet, building ${what} into ${dir} (first run only; a few minutes)`
      : `${name}: cached build is ${installed}, rebuilding as ${wanted}`,
  );
  // No stamp while a build is in progress: an interrupted build is never mistaken for a good one.
  await rm(stamp, { force: true });
  // `go install` names the binary after the package's last path element: build into a folder of
  // this process's own (a test run and a script may build at once), then move it to its name
  // here in one step.
  const buildDir = join(dir, `.build-${name}-${process.pid}`);
  await rm(buildDir, { recursive: true, force: true });
  const go = await findGo();
  if (local) await goRun(go, ['build', '-o', join(buildDir, name), '.'], { cwd: local }, name, log, signal);
  else await goRun(go, ['install', what], { env: { GOBIN: buildDir } }, name, log, signal);
  const built = await readdir(buildDir);
  if (built.length !== 1) throw new Error(`building ${what} left ${built.length} files in ${buildDir}, expected 1`);
  await rename(join(buildDir, built[0]!), binary);
  await rm(buildDir, { recursive: true, force: true });
  await writeFile(stamp, `${wanted}\n`);
  return binary;
}

/** A short hash of a local tool's sources (go.mod, go.sum, *.go): a change rebuilds it. */
async function sourceHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(dir)).filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')).sort();
  for (const file of files) hash.update(`${file}\0`).update(await readFile(join(dir, file))).update('\0');
  return hash.digest('hex').slice(0, 12);
}

const UNVERIFIED = Symbol('binary of unknown version, and no Go to rebuild it');

/**
 * module@version of the cached binary, or undefined when there is none. A local tool (no module)
 * is known only by its stamp.
 */
async function installedVersion(
  binary: string,
  stamp: string,
  module: string | undefined,
  log: Log,
): Promise<string | typeof UNVERIFIED | undefined> {
  if (!(await isExecutable(binary))) return undefined;
  const recorded = await readFile(stamp, 'utf8').then(
    (text) => text.trim(),
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    },
  );
  if (recorded) return recorded;
  if (module === undefined) return undefined;
  // Built by hand (`GOBIN=… go install …`) without a stamp: Go records the module version in the
  // binary itself, so ask Go and write the stamp for next time.
  let go: string;
  try {
    go = await findGo();
  } catch (err) {
    log(`${binary} has no version stamp and Go cannot read its version; using it as it is. ${(err as Error).message}`);
    return UNVERIFIED;
  }
  const info = await run(go, ['version', '-m', binary]);
  const line = info.split('\n').find((l) => l.trim().startsWith('mod\t'));
  const [, path, version] = line?.trim().split('\t') ?? [];
  if (path !== module || !version) return `unknown (${binary})`;
  const found = `${path}@${version}`;
  await writeFile(stamp, `${found}\n`);
  return found;
}

/** The go command: on PATH, or in the standard install location; its version checked. */
export async function findGo(): Promise<string> {
  const tooOld: string[] = [];
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    let version: string;
    try {
      version = (await run(candidate, ['env', 'GOVERSION'])).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const match = /^go(\d+)\.(\d+)/.exec(version);
    if (!match) throw new Error(`Cannot read the version of ${candidate}: "${version}"`);
    const [major, minor] = [Number(match[1]), Number(match[2])];
    if (major > MIN_GO.major || (major === MIN_GO.major && minor >= MIN_GO.minor)) return candidate;
    tooOld.push(`${candidate} is ${version}`);
  }
  const why = tooOld.length > 0 ? `${tooOld.join(', ')}: too old` : 'no `go` command on PATH or in /usr/local/go/bin';
  throw new Error(goMissing(why));
}

function goMissing(why: string): string {
  return [
    `Go >= ${MIN_GO.major}.${MIN_GO.minor} is needed to build the Temporal CLI, MinIO and the test tools once (${why}).`,
    'Install it from https://go.dev/dl/ (Linux: `sudo tar -C /usr/local -xzf go1.25.*.linux-amd64.tar.gz`,',
    'then add /usr/local/go/bin to PATH) or with your package manager (`brew install go`), then run this again.',
  ].join('\n');
}

async function goRun(
  go: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
  name: string,
  log: Log,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  // Go prints "go: downloading …" lines while fetching modules and nothing while compiling;
  // the heartbeat shows it is still alive during the long silent part.
  const heartbeat = setInterval(() => log(`building ${name}… ${seconds()} s`), HEARTBEAT_MS);
  const lines: string[] = [];
  try {
    const child = spawn(go, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        lines.push(line);
        log(`  [go] ${line}`);
      });
    }
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) {
      throw new Error(`\`go ${args.join(' ')}\` failed (exit code ${code}):\n${lines.slice(-30).join('\n')}`);
    }
    log(`${name}: built in ${seconds()} s`);
  } finally {
    clearInterval(heartbeat);
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch (err) {
    if (['ENOENT', 'EACCES', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

/** stdout of a short command; a non-zero exit is an error carrying its stderr. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`\`${command} ${args.join(' ')}\` failed (exit code ${code}): ${stderr.trim()}`));
    });
  });
}
