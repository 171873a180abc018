/**
 * This process's end of the dead man's switch (core/engine/dead-man-switch.ts): a FIFO in the node's
 * switch directory, held open for writing until `cut()` or this process's death. Node opens
 * every file with O_CLOEXEC, so no child (a `docker exec` that outlives us) keeps it open.
 */
import { closeSync, constants, openSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../../core/common/index.js";
import { LIFELINE_FILE, MAIN_EXIT_FILE, REMOTE_PORT_FILE } from "../../core/engine/index.js";
import { realTimers, runCommand, sleep, spawnOrphan, type Timers } from "../process/index.js";

export interface Lifeline {
  /** The directory mounted into the container. */
  readonly dir: string;
  /** The FIFO itself. */
  readonly path: string;
  /** Closes our end: the container ends itself. Idempotent. */
  cut(): void;
  /**
   * Gives our end to an orphaned `sh -c script` (as its fd 3, with `args`) that outlives us,
   * then cuts ours: the container now lives as long as that sh.
   */
  handOff(script: string, args: readonly string[]): void;
  /**
   * Resolves with the main process's exit code once it has exited; never while it runs.
   * Polls a file (cheap: one read per `everyMs`); stops when `signal` aborts.
   */
  mainExit(signal: AbortSignal, everyMs?: number): Promise<number | undefined>;
  /**
   * Resolves with the port the container's agent or sshd listens on, once it says so; undefined
   * once `signal` aborts. Polled as `mainExit` is.
   */
  remotePort(signal: AbortSignal, everyMs?: number): Promise<number | undefined>;
}

export async function holdLifeline(dir: string, run = runCommand, timers: Timers = realTimers): Promise<Lifeline> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const fifo = path.join(dir, LIFELINE_FILE);
  const exitFile = path.join(dir, MAIN_EXIT_FILE);
  const portFile = path.join(dir, REMOTE_PORT_FILE);
  // A run of the same step before (a requeue) may have left them.
  await Promise.all([fifo, exitFile, portFile].map((file) => rm(file, { force: true })));
  // Node has no mkfifo; coreutils' is on every node.
  const made = await run("mkfifo", ["-m", "600", fifo]);
  if (made.exitCode !== 0) {
    throw new UserError(
      "lifeline",
      `cannot create ${fifo}: ${made.stderr.trim() || `mkfifo exited ${made.exitCode}`}`,
      {
        hint: "the job dir must be on a file system that allows FIFOs (any local or NFS file system does)",
      },
    );
  }
  // Read-write: a FIFO opened this way never blocks, with or without a reader yet.
  let fd: number | undefined = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const cut = (): void => {
    if (fd === undefined) return;
    closeSync(fd);
    fd = undefined;
  };
  return {
    dir,
    path: fifo,
    cut,
    handOff(script, args) {
      if (fd === undefined) throw new Error("internal error: the lifeline was cut before its hand-off (please report)");
      spawnOrphan(["/bin/sh", "-c", script, "srun-docker-holder", ...args], { fd3: fd });
      cut();
    },
    mainExit: (signal, everyMs = 50) => pollNumber(exitFile, signal, everyMs, timers),
    remotePort: (signal, everyMs = 10) => pollNumber(portFile, signal, everyMs, timers),
  };
}

/** The number in `file` once it is written whole (the number and a newline); undefined once aborted. */
async function pollNumber(file: string, signal: AbortSignal, everyMs: number, timers: Timers) {
  while (!signal.aborted) {
    const text = await readFile(file, "utf8").catch(() => "");
    // A half-written file reads as no number yet.
    if (/^\d+\n$/.test(text)) return Number(text.trim());
    await sleep(everyMs, timers);
  }
  return undefined;
}
