import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';

/** Progress output of the dev-stack scripts: one line per call. */
export type Log = (message: string) => void;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (missing binary, permissions). */
  error?: Error;
}

export interface SpawnOptions {
  /** Short name used as the output prefix and in errors: "api", "temporal". */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * `prefix`: each output line goes to this process's stdout as `[name] line`.
   * `{ file }`: output is appended to that file (chatty servers), and `tail()` reads it back.
   */
  output: 'prefix' | { file: string };
}

const TAIL_LINES = 60;
const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

/**
 * A supervised child process. Each one runs in its own process group so that a terminal Ctrl-C
 * reaches only the supervisor, which then stops the children in a chosen order, and so that
 * signals also reach grandchildren (tsx runs the real node process as its child).
 */
export class ManagedProcess {
  readonly name: string;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly recent: string[] = [];
  private readonly logFile: string | undefined;
  private stopRequested = false;

  constructor(private readonly child: ChildProcess, options: SpawnOptions) {
    this.name = options.name;
    this.logFile = typeof options.output === 'object' ? options.output.file : undefined;
    if (options.output === 'prefix') {
      for (const stream of [child.stdout, child.stderr]) {
        if (!stream) continue;
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          this.remember(line);
          process.stdout.write(`[${this.name}] ${line}\n`);
        });
      }
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.on('error', (error) => {
        // 'exit' does not follow when the process could not be spawned at all.
        if (child.pid === undefined) resolve({ code: null, signal: null, error });
      });
      child.once('exit', (code, signal) => {
        // Let the last output lines drain before reporting, but never hang on a pipe that a
        // surviving grandchild keeps open.
        const closed = new Promise<void>((r) => child.once('close', () => r()));
        void Promise.race([closed, delay(1_000)]).then(() => resolve({ code, signal }));
      });
    }).then((info) => {
      this.exitInfo = info;
      live.delete(this);
      return info;
    });
    live.add(this);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** How it ended, once it has. */
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** True once stop() or kill() was called: an exit after that is expected. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** The last lines of its output, for error messages. */
  async tail(lines = 40): Promise<string> {
    if (this.logFile) return readTail(this.logFile, lines);
    return this.recent.slice(-lines).join('\n');
  }

  /** An error describing an exit nobody asked for (undefined while it runs or when stopped). */
  async exitedEarlyError(): Promise<Error | undefined> {
    const info = this.exitInfo;
    if (!info || this.stopRequested) return undefined;
    const where = this.logFile ? ` (log: ${this.logFile})` : '';
    const tail = await this.tail();
    const output = tail ? `\n--- last output of ${this.name} ---\n${tail}` : '';
    return new ExitedEarlyError(`${this.name} exited early: ${describeExit(info)}${where}${output}`, info);
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs` if it is still running. */
  async stop(graceMs = 5_000): Promise<ExitInfo> {
    this.stopRequested = true;
    if (!this.exitInfo) {
      this.signal('SIGTERM');
      const timer = delay(graceMs, 'timeout' as const, { ref: false });
      if ((await Promise.race([this.exited, timer])) === 'timeout') {
        process.stdout.write(`[${this.name}] still running ${graceMs} ms after SIGTERM: sending SIGKILL\n`);
        this.signal('SIGKILL');
      }
    }
    const info = await this.exited;
    // Whatever the leader left behind in its group (a grandchild that ignored SIGTERM) goes too.
    this.signal('SIGKILL');
    return info;
  }

  /** Immediate SIGKILL of the whole group (a second Ctrl-C, or the supervisor is exiting). */
  kill(): void {
    this.stopRequested = true;
    if (!this.exitInfo) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch (err) {
      // ESRCH: the group is already gone, which is what we wanted.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > TAIL_LINES) this.recent.shift();
  }
}

export class ExitedEarlyError extends Error {
  constructor(
    message: string,
    readonly exitInfo: ExitInfo,
  ) {
    super(message);
    this.name = 'ExitedEarlyError';
  }
}

export function spawnProcess(options: SpawnOptions): ManagedProcess {
  installExitHook();
  let stdio: ['ignore', 'pipe' | number, 'pipe' | number] = ['ignore', 'pipe', 'pipe'];
  let fd: number | undefined;
  if (typeof options.output === 'object') {
    fd = openSync(options.output.file, 'a');
    stdio = ['ignore', fd, fd];
  }
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio,
      detached: true,
    });
    return new ManagedProcess(child, options);
  } finally {
    // The child has its own copy of the descriptor.
    if (fd !== undefined) closeSync(fd);
  }
}

export function describeExit(info: ExitInfo): string {
  if (info.error) return `could not start: ${info.error.message}`;
  if (info.signal) return `killed by ${info.signal}`;
  return `exit code ${info.code}`;
}

/**
 * Children live in their own process groups, so nothing else kills them if the supervisor dies
 * on an uncaught error: kill whatever is still running when this process exits.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of live) proc.kill();
  });
}

async function readTail(file: string, lines: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
  } finally {
    await handle.close();
  }
}
