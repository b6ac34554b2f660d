import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { findGo } from '../../scripts/lib/binaries.js';

const run = promisify(execFile);

/** What `go mod download -json` prints for one module (the field used here). */
interface DownloadedModule {
  Dir?: string;
}

/**
 * The source tree of a Go module at an exact version, from the Go module cache (downloaded
 * through the module proxy the first time, checked against the checksum database). Tests read
 * files that a project publishes with its code, such as a release's CRDs, without a network
 * fetch of their own.
 */
export async function goModuleDir(module: string, version: string): Promise<string> {
  const go = await findGo();
  const target = `${module}@${version}`;
  let stdout: string;
  try {
    // Outside any module, so that no go.mod of the caller is read or changed.
    ({ stdout } = await run(go, ['mod', 'download', '-json', target], { cwd: tmpdir(), maxBuffer: 1024 * 1024 }));
  } catch (err) {
    // On failure Go still prints its JSON, with the reason in "Error"; stderr may say more.
    const { stdout: out = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(
      `\`go mod download -json ${target}\` failed: ${(out + stderr).trim() || (err as Error).message}\n` +
        'The Go module proxy (GOPROXY, default https://proxy.golang.org) must be reachable once; later runs use the module cache.',
      { cause: err },
    );
  }
  const downloaded = JSON.parse(stdout) as DownloadedModule;
  if (!downloaded.Dir) throw new Error(`\`go mod download -json ${target}\` named no folder: ${stdout.slice(0, 500)}`);
  return downloaded.Dir;
}
