// The orchestrator: what `srun srun-docker --container=IMG --script=job.sh` does on every
// node of the step. The first node is the master (rendezvous server, runs the script in
// ssh mode); the others are workers. Every path out of here removes this node's container.
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import { isFirstTaskOfStep, renderUserError, sayOncePerStep } from "../../core/errors.js";
import { jobStepKey } from "../../core/job-paths.js";
import { planNode } from "../../core/node-plan.js";
import { jobPortCandidates } from "../../core/port-candidates.js";
import { type JobContext, resolveJobContext } from "../../core/slurm-context.js";
import { createPortDraw } from "../../io/channel/key.js";
import { deriveJobKeys } from "../../io/job-keys.js";
import { createLogger, PhaseTimer } from "../../io/log.js";
import type { RelayServer } from "../../io/relay-server.js";
import { exitCodeForSignal, onTerminationSignals } from "../../io/signals.js";
import { ensureUserMaterial } from "../../io/ssh-material.js";
import { printDryRun } from "./dry-run.js";
import { relaysImage, startNodeRelay } from "./image-relay.js";
import { findGivenImage, settleJobImage } from "./job-image.js";
import {
  completeRemotePorts,
  exchangeRemotePorts,
  exchangesRemotePorts,
  probeLocalPorts,
  settleJobPorts,
} from "./job-ports.js";
import { cancelRendezvous, failRendezvous, messageOf, openRendezvous, type RendezvousLink } from "./link.js";
import { runMaster } from "./master.js";
import { NodeContainer } from "./node-container.js";
import { type NodeRun, type Once, once } from "./node-run.js";
import { countGpusIfUnknown, defaultRunDeps, type RunDeps } from "./run-deps.js";
import { resolveScript } from "./script-path.js";
import { startScriptPassingSignals } from "./script-signals.js";
import { runSrunTask } from "./srun-task.js";
import { removeStaleContainers } from "./stale.js";
import { runWorker } from "./worker.js";

export async function runJob(options: RunOptions, deps: RunDeps = defaultRunDeps()): Promise<number> {
  if (options.launcher === "srun") {
    warnOnce(options, deps, isFirstTaskOfStep(deps.env));
    return runSrunTask(options, deps);
  }
  const ctx = resolveContextOnce(options, deps);
  warnOnce(options, deps, ctx.isMaster);
  const log = createLogger({
    prefix: `${ctx.nodeName} ${ctx.isMaster ? "master" : "worker"}`,
    debug: options.debug,
    write: (text) => deps.stderr.write(text),
  });
  if (options.dryRun) return printDryRun(options, ctx, deps);
  const timer = new PhaseTimer();
  const runtime = deps.createRuntime(options.runtime, ctx.nodeName, log);
  const cancelActions: Array<() => Promise<void>> = [];
  let container: NodeContainer | undefined;
  let cancelledBy: NodeJS.Signals | undefined;
  let cancelling: Promise<void> | undefined;
  const unsubscribe = onTerminationSignals((signal) => {
    cancelledBy = signal;
    log.info(`${signal} received: tearing down`);
    // Slurm sends SIGKILL KillWait seconds (as few as 5) after SIGTERM: the container goes
    // first, and only then are the other nodes told (which may wait for a slow peer).
    cancelling = (async () => {
      await container?.remove().catch((error: unknown) => log.error(messageOf(error)));
      for (const action of cancelActions) await action().catch(() => undefined);
    })();
    void cancelling.then(() => deps.exit(exitCodeForSignal(signal)));
  }, deps.signals);

  let link: RendezvousLink | undefined;
  let sweep: Once | undefined;
  let relay: RelayServer | undefined;
  try {
    // Nothing waits for what it does not need: what the engine has under --container is asked
    // at once, beside the identity.
    const engine = deps.createImageEngine(runtime);
    const here = findGivenImage(engine, options.container);
    here.catch(() => undefined); // awaited below, once the rendezvous can carry its failure
    const [identity, material] = await Promise.all([deps.readIdentity(), ensureUserMaterial(deps.materialDir)]);
    // What killed runs left (containers, job dirs) is swept once the job runs, off the launch
    // path; earlier only when a port the user gave turns out to be taken, maybe by such a container.
    sweep = once(() =>
      removeStaleContainers({
        runtime,
        uid: identity.uid,
        log,
        currentJob: deps.env.SLURM_JOB_ID,
        currentRestart: ctx.restartCount,
        jobsDir: material.jobsDir,
        node: ctx.nodeName,
      }),
    );
    const jobKey = jobStepKey(ctx);
    // Every channel of the step is keyed with the step's own secret; so is what its containers
    // get, and its ports are drawn from it.
    const keys = deriveJobKeys(material.secret, jobKey, identity.user);
    const candidates = jobPortCandidates(options, createPortDraw(keys.secret, jobKey));
    const portsRun = { options, ctx, candidates, isPortFree: deps.isPortFree, log };
    const [local, relayServer] = await Promise.all([
      probeLocalPorts(portsRun),
      startNodeRelay({
        secret: keys.secret,
        once: options.pull.once,
        nodes: ctx.nodes.length,
        candidates: candidates.relay,
        jobKey,
        engine,
        log,
      }),
    ]);
    relay = relayServer;
    // The rendezvous opens first, so that any failure from here on reaches every node at once.
    const opened = await openRendezvous(
      ctx,
      keys.secret,
      { ...local, relay: relay?.port },
      options.timeoutSeconds * 1000,
      log,
    );
    link = opened;
    cancelActions.push(() => cancelRendezvous(opened, "the job was cancelled"));
    const runsScript = ctx.isMaster || options.launcher === "each";
    // The one image every node runs: the master decides and announces it, each node fetches it.
    const image = settleJobImage(
      { node: ctx.nodeName, master: ctx.master, given: options.container, pull: options.pull, engine, log, here },
      opened,
      ctx.nodes,
      { write: (text) => deps.stderr.write(text), tty: deps.stderr.isTTY === true, columns: deps.stderr.columns },
      relaysImage(options.pull.once, ctx.nodes.length) ? { server: relay, secret: keys.secret, jobKey } : undefined,
    );
    const [nvidiaSmiGpus, scriptPath, imageAccounts, jobImage, ports, cpus] = await Promise.all([
      countGpusIfUnknown(options, deps),
      runsScript ? resolveScript(options.script, deps.cwd) : path.resolve(deps.cwd, options.script),
      image.then(({ runRef, id }) => runtime.readImageFiles(runRef, id, path.join(material.dir, "cache"))),
      image,
      // A worker's MASTER_PORT comes in the master's welcome (the join is usually over before the
      // image is read).
      settleJobPorts({ ...portsRun, link: opened, local, sweepStale: sweep }),
      deps.readCpus(),
    ]);
    const planInput = {
      // Every node runs the image the master pinned, not whatever its copy of the tag is.
      options: { ...options, container: jobImage.runRef },
      ctx,
      env: deps.env,
      nvidiaSmiGpus,
      identity,
      material,
      keys,
      imageAccounts,
      imagePath: jobImage.path,
      agentBinary: deps.agentBinary(),
      scriptPath,
      cwd: deps.cwd,
      cpus,
      ports,
    };
    const plan = planNode(planInput);
    // Every node finds the same; the master says it once (every node with --debug).
    if (ctx.isMaster || options.debug) for (const warning of plan.warnings) log.warn(warning);
    const started = new NodeContainer(runtime, plan);
    container = started;
    // A signal that came while we prepared found no container to remove: none may start now.
    if (cancelledBy !== undefined) void container.remove();
    const run: NodeRun = {
      options,
      ctx,
      log,
      timer,
      plan,
      container,
      secret: keys.secret,
      deadlineMs: options.timeoutSeconds * 1000,
      startScript: () => startScriptPassingSignals(runtime, plan, log),
      onCancel: (action) => cancelActions.push(action),
      report: (error) => deps.stderr.write(renderUserError(error)),
      sweepStale: sweep,
      completeRemotePorts: async () => {
        const own = started.remotePort();
        if (!exchangesRemotePorts(options) || own === undefined) return undefined;
        return completeRemotePorts({
          news: exchangeRemotePorts(portsRun, opened, own),
          first: candidates.remote[0] ?? 0,
          replan: (all) => planNode({ ...planInput, ports: { ...ports, remotePorts: all } }).files,
          container: started,
          log,
        });
      },
    };
    timer.mark("prepare");
    const ended = link.kind === "master" ? await runMaster(run, link) : await runWorker(run, link.session);
    // A script that ended because we removed its container on a signal did not succeed.
    const code = cancelledBy === undefined ? ended : exitCodeForSignal(cancelledBy);
    log.info(`${timer.summary()}; exit ${code}`);
    return code;
  } catch (error) {
    // Cancelled: every node got the signal itself, so nobody is worth lingering for.
    if (cancelledBy === undefined) await failRendezvous(link, error);
    else await cancelRendezvous(link, "the job was cancelled");
    throw error;
  } finally {
    await Promise.all([
      container?.remove().catch((error: unknown) => log.error(messageOf(error))),
      sweep?.started()?.catch(() => undefined),
    ]);
    relay?.close();
    // Rootless podman keeps a pause process per user and node that Slurm would not end.
    await runtime.releaseUserNamespace().catch(() => undefined);
    // The main path can end (its container gone) while the signal's teardown still tells the
    // other nodes: returning now would let the process exit in the middle of that.
    await cancelling;
    unsubscribe();
  }
}

/** A usage error every task of the step finds alike (e.g. too many tasks per node) is said by the first. */
function resolveContextOnce(options: RunOptions, deps: RunDeps): JobContext {
  try {
    return resolveJobContext({ nodelist: options.nodelist, nodeRank: options.nodeRank }, deps.env, deps.hostname);
  } catch (error) {
    throw sayOncePerStep(error, deps.env);
  }
}

/** What the command line makes worth a word (a typo that goes to the script), said by one node. */
function warnOnce(options: RunOptions, deps: RunDeps, speaks: boolean): void {
  if (speaks) for (const warning of options.warnings) deps.stderr.write(`srun-docker: warning: ${warning}\n`);
}
