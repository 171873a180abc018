// What master, worker and the `each` launcher share once this node is planned.
import type { RunOptions } from "../../cli/options.js";
import type { UserError } from "../../core/common/index.js";
import { EXIT_OUT_OF_MEMORY, outOfMemoryError } from "../../core/limits/index.js";
import type { NodePlan } from "../../core/plan/index.js";
import type { JobContext } from "../../core/slurm/index.js";
import type { Logger, PhaseTimer } from "../../io/process/index.js";
import type { NodeContainer } from "./node-container.js";
import type { ScriptProcess } from "./run-deps.js";

export interface NodeRun {
  options: RunOptions;
  ctx: JobContext;
  log: Logger;
  timer: PhaseTimer;
  plan: NodePlan;
  container: NodeContainer;
  /** The user's secret: the master proves with it that it reaches each worker's agent. */
  secret: Buffer;
  deadlineMs: number;
  /** Starts the job script in this node's container. */
  startScript(): ScriptProcess;
  /** Registers what to do first when a termination signal arrives. */
  onCancel(action: () => Promise<void>): void;
  /** Says a failure of the job itself the way main says a UserError, without ending the run. */
  report(error: UserError): void;
  /** Removes what killed runs left on this node; started once the job runs. */
  sweepStale: Once;
  /**
   * Once this node's container is up: with sshd on a port of its own choosing, waits until every
   * node's is known (commands/run/job-ports.ts), completes this node's client files with them,
   * and returns them; undefined otherwise (the agent's clients try the job's ports themselves,
   * a port the user gave is every node's, or no remote service runs).
   */
  completeRemotePorts(): Promise<ReadonlyMap<string, number> | undefined>;
}

/** `--debug`: which of the job's ports this node's agent or sshd bound, once it answers there. */
export function sayRemotePort(run: Pick<NodeRun, "plan" | "container" | "log">): void {
  const remote = run.plan.remote;
  if (remote === undefined) return;
  void run.container.served().then((port) => {
    const place = port === undefined ? -1 : remote.ports.indexOf(port);
    if (port === undefined || place < 0) return;
    const how =
      place === 0 ? "its first port" : `port ${place + 1} of ${remote.ports.length}: the ones before are taken here`;
    run.log.debug(`${remote.kind} listening on ${port} (${how})`);
  });
}

/** A task run at most once, however often it is asked for; `started()` tells if it was. */
export interface Once {
  (): Promise<void>;
  started(): Promise<void> | undefined;
}

export function once(task: () => Promise<void>): Once {
  let promise: Promise<void> | undefined;
  const run = (() => {
    promise ??= task();
    return promise;
  }) as Once;
  run.started = () => promise;
  return run;
}

/**
 * A failed job whose container the kernel killed something in for memory: this node says so
 * once, naming the limit, and exits 137 whatever the launcher made of the kill.
 */
export async function exitAfterMemoryCheck(run: NodeRun, code: number, settled = false): Promise<number> {
  if (code === 0 || !(await run.container.outOfMemory(settled))) return code;
  run.report(outOfMemoryError(run.ctx.nodeName, run.plan.limits, run.options.dockopts));
  return EXIT_OUT_OF_MEMORY;
}

/**
 * The job's own part (the script), unless a server it did not wait for (core/plan/node-plan.ts:
 * awaitedBeforeJob) fails first: then that failure, after `first` (the master removes its
 * container there, which ends the script at once). The job's promise is abandoned then; runJob's
 * teardown removes the container if `first` did not.
 */
export async function unlessServiceFails<T>(
  job: Promise<T>,
  failures: readonly Promise<never>[],
  first: () => Promise<void> = async () => {},
): Promise<T> {
  job.catch(() => undefined);
  const failed = Promise.race(failures);
  const ended = await Promise.race([job.then((value) => ({ value })), failed]).catch((error: unknown) => ({ error }));
  if ("value" in ended) return ended.value;
  await first().catch(() => undefined);
  throw ended.error;
}
