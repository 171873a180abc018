/**
 * Child processes over node:child_process. `runCommand` captures output and never throws for
 * a non-zero exit (the caller decides what a code means); only a binary that cannot be
 * started is an error, a UserError naming it. `spawnInherit` runs a child on our stdio (an
 * engine CLI's `exec` where the Engine API is not used, see io/engine/engine-queries.ts).
 */
import { spawn as baseSpawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { UserError } from "../../core/common/index.js";

export type Spawn = typeof baseSpawn;

export interface RunCommandOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | Buffer;
  /** SIGTERM after this long, SIGKILL `killGraceMs` later. */
  timeoutMs?: number;
  killGraceMs?: number;
  /** Aborting kills the child the same way as a timeout. */
  signal?: AbortSignal;
  /** "buffer" also returns the raw stdout bytes as `stdoutBuffer` (e.g. a tar stream). */
  encoding?: "utf8" | "buffer";
  spawn?: Spawn;
}

export interface RunCommandResult {
  /** null when the child was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBuffer?: Buffer;
  timedOut: boolean;
  aborted: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Output past this many bytes per stream is dropped, so a runaway child cannot exhaust memory. */
const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;

/**
 * The one way a child we started is ended: SIGTERM, then SIGKILL `graceMs` later if it did not
 * go. `terminate` may be called again (the grace is not restarted); `cancel` once it has ended.
 */
export function endChild(child: Pick<ChildProcess, "kill">, graceMs: number): { terminate(): void; cancel(): void } {
  let graceTimer: NodeJS.Timeout | undefined;
  return {
    terminate: () => {
      child.kill("SIGTERM");
      graceTimer ??= setTimeout(() => child.kill("SIGKILL"), graceMs);
    },
    cancel: () => clearTimeout(graceTimer),
  };
}

export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<RunCommandResult> {
  const spawn = options.spawn ?? baseSpawn;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    const stdout = capture(child.stdout);
    const stderr = capture(child.stderr);
    let timedOut = false;
    let aborted = false;
    const ending = endChild(child, options.killGraceMs ?? 2000);
    const terminate = ending.terminate;
    const timeoutTimer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      terminate();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(timeoutTimer);
      ending.cancel();
      options.signal?.removeEventListener("abort", onAbort);
    };
    child.once("error", (error) => {
      if (child.pid !== undefined) return;
      cleanup();
      reject(spawnError(file, error));
    });
    child.once("close", (code, signal) => {
      if (child.pid === undefined) return;
      cleanup();
      const out = Buffer.concat(stdout);
      resolve({
        exitCode: code,
        signal,
        stdout: out.toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
        ...(options.encoding === "buffer" ? { stdoutBuffer: out } : {}),
        timedOut,
        aborted,
      });
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}

export interface SpawnInheritOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Own process group, so the caller can signal the whole tree with process.kill(-pid). */
  detached?: boolean;
  spawn?: Spawn;
}

/** Starts a child on this terminal's stdio; `exit` rejects only when it could not start. */
export function spawnInherit(
  file: string,
  args: readonly string[],
  options: SpawnInheritOptions = {},
): { child: ChildProcess; exit: Promise<ExitInfo> } {
  const spawn = options.spawn ?? baseSpawn;
  const child = spawn(file, args, {
    env: options.env ?? process.env,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.detached === undefined ? {} : { detached: options.detached }),
    stdio: "inherit",
  });
  const exit = new Promise<ExitInfo>((resolve, reject) => {
    child.once("error", (error) => {
      if (child.pid === undefined) reject(spawnError(file, error));
    });
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  return { child, exit };
}

function capture(stream: NodeJS.ReadableStream | null): Buffer[] {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on("data", (chunk: Buffer) => {
    if (size >= MAX_CAPTURE_BYTES) return;
    size += chunk.length;
    chunks.push(chunk);
  });
  return chunks;
}

function spawnError(file: string, error: NodeJS.ErrnoException): UserError {
  switch (error.code) {
    case "ENOENT":
      return new UserError("command-not-found", `cannot run \`${file}\`: not found`, {
        hint: `install \`${file}\` on this node or add its directory to PATH`,
      });
    case "EACCES":
      return new UserError("command-not-executable", `cannot run \`${file}\`: permission denied`, {
        hint: `check that \`${file}\` is executable (chmod +x)`,
      });
    default:
      return new UserError("command-failed-to-start", `cannot run \`${file}\`: ${error.message}`);
  }
}

/**
 * Starts `argv` as an orphan: an intermediate sh backgrounds it and exits, so it is reparented
 * away from us and Slurm's process-tree tracking (proctrack/linuxproc) does not end it with
 * the step. Only for self-ending helpers (the podman namespace watcher, a daemon's job
 * holder). `fd3` is passed on to it as its fd 3.
 */
export function spawnOrphan(argv: readonly string[], options: { fd3?: number; spawn?: Spawn } = {}): void {
  const spawn = options.spawn ?? baseSpawn;
  const stdio: StdioOptions = options.fd3 === undefined ? "ignore" : ["ignore", "ignore", "ignore", options.fd3];
  const child = spawn("/bin/sh", ["-c", '"$@" </dev/null >/dev/null 2>&1 &', "srun-docker-orphan", ...argv], {
    detached: true,
    stdio,
  });
  child.on("error", () => {});
  child.unref();
}
