// The master node: waits until every node's container runs (and, with sshd, answers), runs the
// job script in its own container, and ends the job everywhere with the script's exit code.
import { NEVER, UserError } from "../../../../core/common/index.js";
import type { RemoteService } from "../../../../core/plan/index.js";
import { PORT_RANGE_END, PORT_RANGE_START } from "../../../../core/ports/index.js";
import { jobStepKey } from "../../../../core/slurm/index.js";
import { reachAgent } from "../../../../io/agent/index.js";
import { waitForGreeting } from "../../../../io/channel/index.js";
import { exitCodeOf } from "../../../../io/process/index.js";
import type { RendezvousMaster, WorkerLost } from "../../../../io/rendezvous/index.js";
import { endedByASignal, unlessContainerEnds } from "../../death-watch.js";
import { type MasterLink, readyFailed } from "../../link.js";
import { exitAfterMemoryCheck, type NodeRun, sayRemotePort, unlessServiceFails } from "../../node-run.js";
import { runEachOnMaster } from "../each/index.js";

const REACHABILITY_DEADLINE_MS = 10_000;

export async function runMaster(run: NodeRun, link: MasterLink): Promise<number> {
  const { plan, container, timer } = run;
  const { rendezvous } = link;
  // A failure from here on reaches the workers through runJob's failRendezvous. A worker that
  // fails while this node's own server starts (sshd under a tight --cpus takes seconds) ends the
  // wait at once: the job is over, and runJob's teardown removes this container meanwhile.
  const started = container.start(run.deadlineMs);
  started.catch(() => undefined);
  const failedFirst = rendezvous.ready.then((r) => (r.ok ? NEVER : r.failure));
  const failure = await Promise.race([started.then(() => undefined), failedFirst]);
  if (failure !== undefined) throw await readyFailed(link, failure);
  sayRemotePort(run);
  // sshd: the workers are ready only once they know where every sshd listens, which the master
  // tells them once every node's sshd does, its own too: so this runs while waiting for ready.
  const completed = run.completeRemotePorts();
  completed.catch(() => undefined);
  const ready = await rendezvous.ready;
  if (!ready.ok) throw await readyFailed(link, ready.failure);
  const remotePorts = await completed;
  // An agent not awaited (core/plan/node-plan.ts) is checked while the script already runs.
  const reachability = new AbortController();
  const reachable =
    plan.remote === undefined ? Promise.resolve() : checkWorkersReachable(run, plan.remote, remotePorts, reachability);
  if (plan.remote?.awaitedBeforeJob !== false) await reachable;
  timer.mark("containers up");
  void run.sweepStale().catch(() => undefined);
  container.throwIfServiceFailed(); // then no script to start, only to end at once
  const script = run.options.launcher === "each" ? runEachOnMaster(run, rendezvous) : runScript(run, rendezvous);
  const job = unlessContainerEnds(run, script, endedByASignal);
  const ended = await unlessServiceFails(job, [container.serviceFailure(), reachable.then(() => NEVER)], () =>
    container.remove(),
  ).finally(() => reachability.abort());
  const code = await exitAfterMemoryCheck(run, ended);
  timer.mark("job");
  await rendezvous.finish(code);
  await container.remove();
  timer.mark("teardown");
  return code;
}

/**
 * The master's ssh must reach every worker's sshd or agent over the network, not only localhost:
 * sshd where the worker said it listens; the agent by the client's own search of the job's
 * ports and its handshake (a greeting alone could come from another user's program).
 */
async function checkWorkersReachable(
  run: NodeRun,
  remote: RemoteService,
  ports: ReadonlyMap<string, number> | undefined,
  stop: AbortController,
): Promise<void> {
  const workers = run.ctx.nodes.filter((n) => n !== run.ctx.nodeName);
  const jobKey = jobStepKey(run.ctx);
  await Promise.all(
    workers.map(async (node) => {
      if (remote.kind === "sshd") {
        const port = ports?.get(node) ?? remote.ports[0] ?? 0;
        await waitForGreeting("sshd", node, port, REACHABILITY_DEADLINE_MS, { signal: stop.signal });
        return;
      }
      // Once this node's own agent answers: the workers' started with it, and probing them while
      // they start took CPU from their start and the script's first ssh (~30 ms on 2 cores).
      await run.container.served();
      if (stop.signal.aborted) return;
      const why = await reachAgent({
        node,
        ports: remote.ports,
        secret: run.secret,
        jobKey,
        timeoutMs: REACHABILITY_DEADLINE_MS,
      });
      if (why !== undefined && !stop.signal.aborted)
        throw new UserError("agent-not-ready", `cannot reach ${why}`, {
          hint: `the nodes must reach each other on ports ${PORT_RANGE_START}-${PORT_RANGE_END - 1}; check for a firewall between ${run.ctx.nodeName} and ${node}`,
        });
    }),
  );
}

/** The script runs until it exits or a worker is lost (then the job cannot go on). */
async function runScript(run: NodeRun, rendezvous: RendezvousMaster): Promise<number> {
  run.log.debug(`$ ${run.options.runtime} ${run.plan.execArgs.join(" ")}`);
  const job = run.startScript();
  let unsubscribe = () => {};
  const lost = new Promise<WorkerLost>((resolve) => {
    unsubscribe = rendezvous.onWorkerLost(resolve);
  });
  const first = await Promise.race([job.exit.then((exit) => ({ exit })), lost.then((worker) => ({ worker }))]);
  unsubscribe();
  if ("exit" in first) return exitCodeOf(first.exit);
  // Removing the container ends the script; then the job is reported failed.
  await run.container.remove();
  await job.exit;
  throw new UserError("worker-lost", `${first.worker.node} was lost during the job: ${first.worker.reason}`, {
    hint: `the node, its srun-docker or its container died; see ${first.worker.node}'s output above`,
  });
}
