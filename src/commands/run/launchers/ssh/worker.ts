// A worker node: brings up its container, tells the master it is ready (or why not), and
// keeps it until the master says done, aborts, or goes away.

import { EXIT_OUT_OF_MEMORY } from "../../../../core/limits/index.js";
import type { RendezvousWorkerSession, WorkerOutcome } from "../../../../io/rendezvous/index.js";
import { endedByASignal, unlessContainerEnds } from "../../death-watch.js";
import { exitAfterMemoryCheck, type NodeRun, sayRemotePort, unlessServiceFails } from "../../node-run.js";
import { runEachOnWorker } from "../each/index.js";

export async function runWorker(run: NodeRun, joining: Promise<RendezvousWorkerSession>): Promise<number> {
  const { container, log, timer } = run;
  const started = container.start(run.deadlineMs);
  started.catch(() => undefined);
  const session = await joining;
  run.onCancel(async () => session.close());
  // A failure reaches the master through runJob's failRendezvous.
  await started;
  sayRemotePort(run);
  // Ready means ready for the job: with sshd, this node's ssh knows where every node's listens.
  await run.completeRemotePorts();
  await session.reportReady();
  timer.mark("containers up");
  void run.sweepStale().catch(() => undefined);
  // An agent not awaited (core/plan/node-plan.ts) that fails now fails the job: runJob reports it.
  // A container that ends by itself ends the job: this node says so, and the master hears it.
  const job = unlessContainerEnds(run, waitForJobEnd(run, session), (r) => endedByASignal(r.own));
  const { own, outcome } = await unlessServiceFails(job, [container.serviceFailure()]);
  // The job failed (anywhere): if the kernel killed something here for memory, this node says so.
  const failed = outcome.kind !== "done" || outcome.exitCode !== 0 || (typeof own === "number" && own !== 0);
  // Unless this node's own script just failed, any kill here came well before the news.
  const ownFailed = typeof own === "number" && own !== 0;
  const oomCode = failed ? await exitAfterMemoryCheck(run, 1, !ownFailed) : 0;
  timer.mark("job");
  await container.remove();
  timer.mark("teardown");
  if (oomCode === EXIT_OUT_OF_MEMORY) return oomCode;
  switch (outcome.kind) {
    case "done":
      return typeof own === "number" ? own : 0;
    case "abort":
      log.info(`the master ended the job: ${outcome.reason}`);
      return 1;
    case "lost":
      log.info(`lost the master (${outcome.reason}): container removed`);
      return 1;
  }
}

/** This node's own script's code (`each`), and how the master ended the job. */
async function waitForJobEnd(
  run: NodeRun,
  session: RendezvousWorkerSession,
): Promise<{ own: number | undefined; outcome: WorkerOutcome }> {
  const own = run.options.launcher === "each" ? await runEachOnWorker(run, session) : undefined;
  if (typeof own === "object") return { own: undefined, outcome: own };
  return { own, outcome: await session.outcome };
}
