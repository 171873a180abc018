// `--launcher=each`: after the barrier every node runs the script in its own container
// (torchrun, DeepSpeed --no_ssh). The first non-zero exit anywhere ends the job everywhere,
// so peers do not hang in a collective waiting for a node that is gone.
import { deferred, UserError } from "../../../../core/common/index.js";
import { exitCodeOf } from "../../../../io/process/index.js";
import type {
  RendezvousMaster,
  RendezvousWorkerSession,
  WorkerExited,
  WorkerLost,
  WorkerOutcome,
} from "../../../../io/rendezvous/index.js";
import { endedByASignal, throwIfContainerEnded } from "../../death-watch.js";
import type { NodeRun } from "../../node-run.js";

export async function runEachOnMaster(run: NodeRun, rendezvous: RendezvousMaster): Promise<number> {
  rendezvous.start();
  const job = run.startScript();
  const pending = new Set(run.ctx.nodes.filter((n) => n !== run.ctx.nodeName));
  let firstFailure: number | undefined;
  let lost: WorkerLost | undefined;
  // Two events, not one: workers that all finish well before this node's script must not
  // end it (rank 0 often does the last work alone: saving the model, writing the report).
  const failed = deferred<void>();
  const workersDone = deferred<void>();
  const check = () => {
    if (firstFailure !== undefined) failed.resolve();
    if (pending.size === 0 || firstFailure !== undefined) workersDone.resolve();
  };
  const offExit = rendezvous.onWorkerExited((e: WorkerExited) => {
    pending.delete(e.node);
    if (e.exitCode !== 0) {
      firstFailure ??= e.exitCode;
      run.log.info(`${e.node}'s script exited with ${e.exitCode}: ending the job everywhere`);
    }
    check();
  });
  const offLost = rendezvous.onWorkerLost((l) => {
    lost ??= l;
    firstFailure ??= 1;
    check();
  });
  check();
  const own = job.exit.then(exitCodeOf);
  const ownCode = await Promise.race([own, failed.promise.then(() => undefined)]);
  if (ownCode === undefined) {
    // A worker failed or was lost while our script still runs: stop it.
    await run.container.remove();
    await own;
  } else if (ownCode === 0) {
    await workersDone.promise;
  } else {
    firstFailure ??= ownCode;
  }
  offExit();
  offLost();
  if (lost !== undefined) {
    throw new UserError("worker-lost", `${lost.node} was lost during the job: ${lost.reason}`, {
      hint: `the node, its srun-docker or its container died; see ${lost.node}'s output above`,
    });
  }
  return firstFailure ?? ownCode ?? 0;
}

export async function runEachOnWorker(run: NodeRun, session: RendezvousWorkerSession): Promise<number | WorkerOutcome> {
  const go = await session.waitForGo();
  if (go.kind !== "go") return go;
  const job = run.startScript();
  const first = await Promise.race([
    job.exit.then((exit) => ({ exit })),
    session.outcome.then((outcome) => ({ outcome })),
  ]);
  if ("outcome" in first) {
    await run.container.remove();
    await job.exit;
    return first.outcome;
  }
  const code = exitCodeOf(first.exit);
  // A script ended by its container's end is no script failure: the node says why instead.
  if (endedByASignal(code)) await throwIfContainerEnded(run);
  await session.reportExited(code);
  return code;
}
