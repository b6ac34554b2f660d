import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Config } from '../../src/config.js';
import type { Log } from './process.js';

/**
 * The Temporal CLI (with its dev server) and MinIO, built from their Go modules into a cache
 * folder outside the repo, once. Exact versions make the build reproducible; changing a pin here
 * rebuilds that binary on the next run.
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
} as const;

export type BinaryName = keyof typeof BINARY_SOURCES;
export type Binaries = Record<BinaryName, string>;

const MIN_GO = { major: 1, minor: 25 };
const HEARTBEAT_MS = 10_000;

export interface EnsureBinariesOptions {
  /** Aborting kills a running `go install`. */
  signal?: AbortSignal;
}

export async function ensureBinaries(
  config: Pick<Config, 'HARVESTER_BIN_DIR'>,
  log: Log,
  options: EnsureBinariesOptions = {},
): Promise<Binaries> {
  const dir = resolve(config.HARVESTER_BIN_DIR);
  await mkdir(dir, { recursive: true });
  const out: Partial<Binaries> = {};
  // One after the other: each build already uses every core.
  for (const name of Object.keys(BINARY_SOURCES) as BinaryName[]) {
    out[name] = await ensureBinary(dir, name, log, options.signal);
  }
  return out as Binaries;
}

async function ensureBinary(dir: string, name: BinaryName, log: Log, signal?: AbortSignal): Promise<string> {
  const source = BINARY_SOURCES[name];
  const wanted = `${source.module}@${source.version}`;
  const binary = join(dir, name);
  const stamp = `${binary}.version`;

  const installed = await installedVersion(binary, stamp, source.module, log);
  if (installed === wanted || installed === UNVERIFIED) {
    log(`${name}: reusing ${binary}${installed === wanted ? ` (${source.version})` : ''}`);
    return binary;
  }
  log(
    installed === undefined
      ? `${name}: not built yet, building ${source.pkg}@${source.version} into ${dir} (first run only; a few minutes)`
      : `${name}: cached build is ${installed}, rebuilding as ${wanted}`,
  );
  // No stamp while a build is in progress: an interrupted build is never mistaken for a good one.
  await rm(stamp, { force: true });
  await goInstall(await findGo(), `${source.pkg}@${source.version}`, dir, name, log, signal);
  await writeFile(stamp, `${wanted}\n`);
  return binary;
}

const UNVERIFIED = Symbol('binary of unknown version, and no Go to rebuild it');

/** module@version of the cached binary, or undefined when there is none. */
async function installedVersion(
  binary: string,
  stamp: string,
  module: string,
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
    `Go >= ${MIN_GO.major}.${MIN_GO.minor} is needed to build the Temporal CLI and MinIO once (${why}).`,
    'Install it from https://go.dev/dl/ (Linux: `sudo tar -C /usr/local -xzf go1.25.*.linux-amd64.tar.gz`,',
    'then add /usr/local/go/bin to PATH) or with your package manager (`brew install go`), then run this again.',
  ].join('\n');
}

async function goInstall(
  go: string,
  target: string,
  gobin: string,
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
    const child = spawn(go, ['install', target], {
      env: { ...process.env, GOBIN: gobin },
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
      throw new Error(`\`go install ${target}\` failed (exit code ${code}):\n${lines.slice(-30).join('\n')}`);
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
