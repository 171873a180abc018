// The orchestrator: what `srun srun-docker --container=IMG --script=job.sh` does on every
// node of the step. The first node is the master (rendezvous server, runs the script in
// ssh mode); the others are workers. Every path out of here removes this node's container.
import { readFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import { resolveGpus } from "../../core/gpus.js";
import { findMissingEnvlist } from "../../core/job-env.js";
import { deriveJobPorts } from "../../core/ports.js";
import { type JobContext, resolveJobContext } from "../../core/slurm-context.js";
import { ContainerRuntime, defaultDockerApi } from "../../io/container-runtime.js";
import { withDebugLog } from "../../io/docker-api.js";
import { runCommand } from "../../io/exec.js";
import { readIdentity } from "../../io/identity.js";
import { createLogger, type Logger, PhaseTimer } from "../../io/log.js";
import { countNodeGpus } from "../../io/nvidia-smi.js";
import { exitCodeForSignal, onTerminationSignals, type SignalSource } from "../../io/signals.js";
import { ensureUserMaterial } from "../../io/ssh-material.js";
import { renderDryRun } from "./dry-run.js";
import { cancelRendezvous, failRendezvous, messageOf, openRendezvous, type RendezvousLink } from "./link.js";
import { runMaster } from "./master.js";
import { NodeContainer } from "./node-container.js";
import { type NodePlan, planNode, resolveScript } from "./node-setup.js";
import { removeStaleContainers } from "./stale.js";
import { runWorker } from "./worker.js";

export interface RunDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  hostname: string;
  signals: SignalSource;
  exit: (code: number) => never;
}

export function defaultRunDeps(): RunDeps {
  return {
    env: process.env,
    cwd: process.cwd(),
    hostname: osHostname(),
    signals: process,
    exit: (code) => process.exit(code),
  };
}

/** Everything master and worker share once this node is planned. */
export interface NodeRun {
  options: RunOptions;
  ctx: JobContext;
  log: Logger;
  timer: PhaseTimer;
  runtime: ContainerRuntime;
  plan: NodePlan;
  container: NodeContainer;
  deadlineMs: number;
  /** Registers what to do first when a termination signal arrives. */
  onCancel(action: () => Promise<void>): void;
  /** Removes what killed runs left on this node; started once the job runs. */
  sweepStale: Once;
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

export async function runJob(options: RunOptions, deps: RunDeps = defaultRunDeps()): Promise<number> {
  const ctx = resolveJobContext({ nodelist: options.nodelist, nodeRank: options.nodeRank }, deps.env, deps.hostname);
  const log = createLogger({ prefix: `${ctx.nodeName} ${ctx.isMaster ? "master" : "worker"}`, debug: options.debug });
  const timer = new PhaseTimer();
  const ports = deriveJobPorts(ctx.jobId, ctx.stepId, {
    sshdPort: options.sshdPort,
    rendezvousPort: options.rendezvousPort,
  });
  // --debug shows every engine command this node runs, as the user could type it.
  const api = defaultDockerApi(options.runtime, deps.env);
  const runtime = new ContainerRuntime(
    options.runtime,
    ctx.nodeName,
    (file, args, opts) => {
      log.debug(`$ ${file} ${args.join(" ")}`);
      return runCommand(file, args, opts);
    },
    undefined,
    undefined,
    api && withDebugLog(api, log),
  );
  if (options.dryRun) {
    const identity = await readIdentity();
    const gpus = resolveGpus(
      { mode: options.gpus, privileged: options.privileged, slotsPerNode: options.slotsPerNode },
      deps.env,
    );
    process.stdout.write(renderDryRun({ options, ctx, identity, ports, gpus, cwd: deps.cwd, env: deps.env }));
    return 0;
  }
  const cancelActions: Array<() => Promise<void>> = [];
  let container: NodeContainer | undefined;
  let cancelledBy: NodeJS.Signals | undefined;
  const unsubscribe = onTerminationSignals((signal) => {
    cancelledBy = signal;
    log.info(`${signal} received: tearing down`);
    // Slurm sends SIGKILL KillWait seconds (as few as 5) after SIGTERM: the container goes
    // first, and only then are the other nodes told (which may wait for a slow peer).
    void (async () => {
      await container?.remove().catch((error: unknown) => log.error(messageOf(error)));
      for (const action of cancelActions) await action().catch(() => undefined);
      deps.exit(exitCodeForSignal(signal));
    })();
  }, deps.signals);

  let link: RendezvousLink | undefined;
  let sweep: Once | undefined;
  try {
    // Every docker CLI call costs ~50-100 ms of CLI start-up on a busy node, so none waits for
    // another it does not need: the image inspection starts at once, beside the identity.
    const imageId = runtime.inspectImage(options.container);
    imageId.catch(() => undefined); // awaited below, once the rendezvous can carry its failure
    const [identity, material] = await Promise.all([readIdentity(), ensureUserMaterial()]);
    // The rendezvous opens first, so that any failure from here on reaches every node at once.
    link = await openRendezvous(ctx, material.secret, ports.rendezvousPort, options.timeoutSeconds * 1000, log);
    cancelActions.push(() => cancelRendezvous(link, "the job was cancelled"));
    const runsScript = ctx.isMaster || options.launcher === "each";
    const [gpuCount, scriptPath, imageFiles, clientPublicKey] = await Promise.all([
      countNvidiaGpus(options, deps.env),
      runsScript ? resolveScript(options.script, deps.cwd) : path.resolve(deps.cwd, options.script),
      imageId.then((id) => runtime.readImageFiles(options.container, id, path.join(material.dir, "cache"))),
      readFile(material.clientPublicKeyPath, "utf8"),
    ]);
    // What killed runs left (containers, job dirs) is swept once the job runs, off the launch
    // path; earlier only when our sshd port turns out to be taken, maybe by such a container.
    sweep = once(() => removeStaleContainers(runtime, identity.uid, log, deps.env, material.jobsDir, ctx.nodeName));
    const gpus = resolveGpus(
      { mode: options.gpus, privileged: options.privileged, slotsPerNode: options.slotsPerNode },
      deps.env,
      gpuCount,
    );
    for (const warning of gpus.warnings) if (ctx.isMaster || options.debug) log.warn(warning);
    const unset = findMissingEnvlist(options.envlist, deps.env);
    if (unset.length > 0 && (ctx.isMaster || options.debug)) {
      log.warn(
        `--envlist names ${unset.join(", ")}, not set here: the job does not get ${unset.length === 1 ? "it" : "them"}`,
      );
    }
    const plan = planNode({
      options,
      ctx,
      identity,
      material,
      clientPublicKey,
      ports,
      gpus,
      imageFiles,
      scriptPath,
      cwd: deps.cwd,
      callerEnv: deps.env,
    });
    container = new NodeContainer(runtime, plan, sweep);
    // A signal that came while we prepared found no container to remove: none may start now.
    if (cancelledBy !== undefined) void container.remove();
    const run: NodeRun = {
      options,
      ctx,
      log,
      timer,
      runtime,
      plan,
      container,
      deadlineMs: options.timeoutSeconds * 1000,
      onCancel: (action) => cancelActions.push(action),
      sweepStale: sweep,
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
    // Rootless podman keeps a pause process per user and node that Slurm would not end.
    await runtime.releaseUserNamespace().catch(() => undefined);
    unsubscribe();
  }
}

/** nvidia-smi is asked only when Slurm and the environment say nothing about GPUs. */
async function countNvidiaGpus(options: RunOptions, env: NodeJS.ProcessEnv): Promise<number | undefined> {
  if (options.gpus.kind !== "auto") return undefined;
  if (env.SLURM_GPUS_ON_NODE || env.CUDA_VISIBLE_DEVICES || env.NV_GPU || env.SLURM_STEP_GPUS || env.SLURM_JOB_GPUS)
    return undefined;
  return countNodeGpus();
}
