// The job-long watch on this node's container, for NodeContainer: how the container ended when
// it ends without our teardown (the OOM killer, an admin's `docker kill`, a daemon that died).
// Only an end seen while the container is up counts (NodeContainer's `died` transition); once a
// removal was asked for, the end is our own doing and the watch stays silent.
import type { RunOptions } from "../../cli/options.js";
import type { UserError } from "../../core/common/index.js";
import { NEVER } from "../../core/common/index.js";
import { type ContainerEnd, containerEndedDuringJob } from "../../core/engine/index.js";
import { describeMemoryLimit } from "../../core/limits/index.js";
import type { NodePlan } from "../../core/plan/index.js";
import type { JobContext } from "../../core/slurm/index.js";
import type { ContainerRuntime } from "../../io/container/index.js";
import { watchContainerEnd } from "../../io/engine/index.js";
import { sleep, type Timers } from "../../io/process/index.js";

export class DeathWatch {
  private watching: Promise<ContainerEnd> | undefined;
  private readonly stopped = new AbortController();

  constructor(
    private readonly runtime: Pick<ContainerRuntime, "containerStates">,
    private readonly name: string,
    /**
     * Moves the container to `died` with `end` if it is up; returns how it died, once it has
     * (now or before), or undefined (still up, or being removed by us).
     */
    private readonly die: (end: ContainerEnd | undefined) => ContainerEnd | undefined,
    private readonly timers?: Timers,
  ) {}

  /**
   * Resolves with how the container ended, once it ends without our teardown; never once a
   * removal was asked for. The first call starts the watch (the launcher's, once the job runs;
   * a container that ended before already answers at once).
   */
  ended(): Promise<ContainerEnd> {
    this.watching ??= this.watch();
    return this.watching;
  }

  /**
   * After the job's own process ended as a kill ends it: whether the container ended first, and
   * how; undefined while it runs, or while the engine cannot say. A killed container ends the
   * script's exec a moment before the engine marks the container stopped, so a container still
   * running is given `graceMs` for the watch to hear of its end.
   */
  async lookNow(graceMs = 0): Promise<ContainerEnd | undefined> {
    const before = this.die(undefined);
    if (before !== undefined || this.stopped.signal.aborted) return before;
    const now = await this.runtime.containerStates().look(this.name);
    if (now.kind === "exited" || now.kind === "gone") {
      const end = this.die(now);
      if (end !== undefined) this.stopped.abort();
      return end;
    }
    if (graceMs <= 0) return this.die(undefined);
    return Promise.race([this.ended(), sleep(graceMs, this.timers).then(() => this.die(undefined))]);
  }

  /** Our teardown begins: whatever the container does now is not a death. */
  stop(): void {
    this.stopped.abort();
  }

  private async watch(): Promise<ContainerEnd> {
    const states = this.runtime.containerStates();
    const end = this.stopped.signal.aborted
      ? undefined
      : await watchContainerEnd(states, this.name, this.stopped.signal, this.timers);
    // lookNow() may have seen it first (and stopped the watch): its end stands.
    return this.die(end) ?? NEVER;
  }
}

/** What a launcher's watched part of the job knows of its node (NodeRun has it all). */
export interface WatchedNode {
  readonly container: { readonly deaths: DeathWatch; outOfMemory(): Promise<boolean> };
  readonly ctx: Pick<JobContext, "nodeName">;
  readonly plan: Pick<NodePlan, "limits">;
  readonly options: Pick<RunOptions, "runtime" | "dockopts">;
}

/**
 * How long a job process's end that looks like a kill waits for the engine to say whether its
 * container ended (the exec's end comes first; the watch hears of the container's within ms).
 */
const KILL_GRACE_MS = 500;

/**
 * This node's part of the job, unless its container ends by itself first (killed, its init
 * gone, its engine lost), or that end is why the part ended (`killed`: it ended as a kill ends
 * a script, e.g. with a code above 128; a rejection too): then the one line saying so, naming
 * the node and the exit, is thrown (a UserError, code `container-ended`). Starts the container's
 * job-long watch.
 */
export async function unlessContainerEnds<T>(
  node: WatchedNode,
  job: Promise<T>,
  killed: (value: T) => boolean,
): Promise<T> {
  job.catch(() => undefined);
  const first = await Promise.race([
    job.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    node.container.deaths.ended().then((end) => ({ end })),
  ]);
  if ("end" in first) throw await containerEndedError(node, first.end);
  if ("error" in first || killed(first.value)) await throwIfContainerEnded(node);
  if ("error" in first) throw first.error;
  return first.value;
}

/** After this node's job process ended as a kill ends it: throws the container's end when that is why. */
export async function throwIfContainerEnded(node: WatchedNode): Promise<void> {
  const end = await node.container.deaths.lookNow(KILL_GRACE_MS);
  if (end !== undefined) throw await containerEndedError(node, end);
}

/** A script's code as a kill gives it (128 + the signal): SIGKILL when its container ends under it. */
export function endedByASignal(code: number | undefined): boolean {
  return code !== undefined && code > 128;
}

async function containerEndedError(node: WatchedNode, end: ContainerEnd): Promise<UserError> {
  const oom = end.kind === "exited" && end.code !== 0 && (await node.container.outOfMemory());
  const limit = oom ? describeMemoryLimit(node.plan.limits, node.options.dockopts) : undefined;
  return containerEndedDuringJob(node.ctx.nodeName, node.options.runtime, end, limit);
}
