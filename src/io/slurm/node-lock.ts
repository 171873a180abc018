/**
 * A lock between the srun-docker processes of one node: a directory made with `mkdir` (atomic
 * on every file system, NFS included), holding the holder's pid. Two steps of a job that name
 * the same container may start on a node at once: one creates it, the other then finds it.
 * A holder that died (SIGKILL) leaves its directory: a pid no longer alive on this node frees it.
 */
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { realTimers, sleep, type Timers } from "../process/index.js";

const POLL_MS = 25;

export async function withNodeLock<T>(
  dir: string,
  action: () => Promise<T>,
  timers: Timers = realTimers,
  alive: (pid: number) => boolean = isAlive,
): Promise<T> {
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o700 });
  while (!(await tryLock(dir, alive))) await sleep(POLL_MS, timers);
  try {
    return await action();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function tryLock(dir: string, alive: (pid: number) => boolean): Promise<boolean> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (await heldByNoOne(dir, alive)) await rm(dir, { recursive: true, force: true });
    return false;
  }
  await writeFile(path.join(dir, "pid"), String(process.pid), { mode: 0o600 });
  return true;
}

/** How long a lock may stay without a pid: its holder is between mkdir and writeFile, or died there. */
const NO_PID_MS = 10_000;

async function heldByNoOne(dir: string, alive: (pid: number) => boolean): Promise<boolean> {
  const holder = Number(await readFile(path.join(dir, "pid"), "utf8").catch(() => ""));
  if (Number.isInteger(holder) && holder > 0) return !alive(holder);
  const made = await stat(dir).catch(() => undefined);
  return made !== undefined && Date.now() - made.mtimeMs > NO_PID_MS;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
