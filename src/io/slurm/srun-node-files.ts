/**
 * `--launcher=srun`: how the tasks of one node meet, through files in the node's job dir (a
 * path only this node writes, so a shared home is fine). The first task (local rank 0) starts
 * the container and says `ready` or `failed`; every task records its pid while it runs and
 * `done` when its program ended; the first task removes the container once every task of the
 * node is done or dead.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../files/index.js";
import { realTimers, sleep, type Timers } from "../process/index.js";

/** The node's container, as its tasks exec into it (srun-task-exec.ts's Container). */
export interface ReadyContainer {
  container: string;
  devices: readonly string[] | "all";
  /** What each task's program runs under (`--container-entrypoint`), else empty. */
  entrypoint: readonly string[];
  /** Its switch dir on the host, where the tasks' pid files are. */
  switchDir: string;
  /** The step, when steps share it (`--container-name`). */
  sharedBy?: string | undefined;
}

export type NodeState = ({ kind: "ready" } & ReadyContainer) | { kind: "failed"; message: string };

const POLL_MS = 50;

export class SrunNodeFiles {
  readonly dir: string;

  constructor(
    jobDir: string,
    private readonly timers: Timers = realTimers,
    private readonly alive: (pid: number) => boolean = isAlive,
  ) {
    this.dir = path.join(jobDir, "srun");
  }

  async announce(state: NodeState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const [name, content] =
      state.kind === "ready" ? ["ready", JSON.stringify({ ...state, kind: undefined })] : ["failed", state.message];
    await writeFileAtomic(path.join(this.dir, name), content, 0o600);
  }

  /** The first task's word on the container, or undefined at the deadline. */
  async waitForNode(deadlineMs: number): Promise<NodeState | undefined> {
    const until = this.timers.now() + deadlineMs;
    for (;;) {
      const failed = await this.read("failed");
      if (failed !== undefined) return { kind: "failed", message: failed };
      const ready = await this.read("ready");
      if (ready !== undefined) {
        return { ...(JSON.parse(ready) as ReadyContainer), kind: "ready" };
      }
      if (this.timers.now() >= until) return undefined;
      await sleep(POLL_MS, this.timers);
    }
  }

  async started(localRank: number, pid: number): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(path.join(this.dir, `task-${localRank}`), String(pid), { mode: 0o600 });
  }

  async done(localRank: number): Promise<void> {
    await writeFile(path.join(this.dir, `done-${localRank}`), "", { mode: 0o600 }).catch(() => undefined);
  }

  /**
   * Resolves once every task of the node but `self` is done, or dead (SIGKILL leaves no word),
   * or never started within `startMs`; polls while it waits.
   */
  async waitForOthers(localSize: number, self: number, startMs: number): Promise<void> {
    const since = this.timers.now();
    for (;;) {
      let waiting = false;
      for (let rank = 0; rank < localSize; rank++) {
        if (rank !== self && !(await this.finished(rank, this.timers.now() - since > startMs))) waiting = true;
      }
      if (!waiting) return;
      await sleep(POLL_MS * 2, this.timers);
    }
  }

  private async finished(rank: number, startOver: boolean): Promise<boolean> {
    if ((await this.read(`done-${rank}`)) !== undefined) return true;
    const pid = Number(await this.read(`task-${rank}`));
    if (!Number.isInteger(pid) || pid <= 0) return startOver;
    return !this.alive(pid);
  }

  private read(name: string): Promise<string | undefined> {
    return readFile(path.join(this.dir, name), "utf8").catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
