/**
 * Every process one agent session started, found by the marker variable in its environment
 * (core/agent/agent-spawn-plan.ts), and killed. A process group is not enough: MPI launch daemons
 * put each rank in a group of its own, and a daemon that forks twice leaves its group and its
 * parent; all of them still carry the environment they were started with. (A program that
 * clears its environment on exec escapes this net; the container's end is the last one.)
 * Linux: /proc. Elsewhere there is no /proc and only the group is signalled.
 */
import { readdir, readFile } from "node:fs/promises";
import { SESSION_MARKER_VARIABLE } from "../../core/agent/index.js";
import { sleep, type Timers } from "../process/index.js";

/** The pids (not ours) whose environment holds this session's marker. */
export async function findSessionProcesses(sessionId: string, procRoot = "/proc"): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(procRoot);
  } catch {
    return [];
  }
  const marker = Buffer.from(`${SESSION_MARKER_VARIABLE}=${sessionId}\0`);
  const found = await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)
      .map(async (name) => {
        try {
          // A zombie's environ reads empty: it is dead already, only not yet reaped.
          const environ = await readFile(`${procRoot}/${name}/environ`);
          const at = environ.indexOf(marker);
          return at === 0 || (at > 0 && environ[at - 1] === 0) ? Number(name) : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  return found.filter((pid) => pid !== undefined);
}

export interface KillSessionOptions {
  sessionId: string;
  /** The session's process group (its first process was spawned detached: a group of its own). */
  groupId: number | undefined;
  /** Whether the first process has exited (its pid may be reused once it is reaped). */
  leaderExited: () => boolean;
  graceMs: number;
  timers: Timers;
  find?: (sessionId: string) => Promise<number[]>;
  kill?: (pid: number, signal: NodeJS.Signals) => void;
}

/**
 * SIGHUP (and SIGCONT, so a stopped process sees it) to the group and every marked process;
 * after `graceMs`, or sooner once none is left, SIGKILL to what remains, repeated until none
 * is left (a process may fork between one look and the kill).
 */
export async function killSession(options: KillSessionOptions): Promise<void> {
  const find = options.find ?? findSessionProcesses;
  const kill = options.kill ?? signalQuietly;
  const { timers } = options;
  const signalAll = async (signal: NodeJS.Signals): Promise<number> => {
    if (options.groupId !== undefined) kill(-options.groupId, signal);
    const pids = await find(options.sessionId);
    for (const pid of pids) kill(pid, signal);
    return pids.length;
  };
  const done = async (): Promise<boolean> => options.leaderExited() && (await find(options.sessionId)).length === 0;

  await signalAll("SIGHUP");
  await signalAll("SIGCONT");
  const deadline = timers.now() + options.graceMs;
  while (timers.now() < deadline) {
    await sleep(Math.min(50, Math.max(0, deadline - timers.now())), timers);
    if (await done()) return;
  }
  for (let round = 0; round < 20; round++) {
    await signalAll("SIGKILL");
    await sleep(20, timers);
    if (await done()) return;
  }
}

/** process.kill that ignores a process (or group) already gone. */
export function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH: gone already; EPERM: not ours (a setuid program), nothing we may do.
  }
}
