// The orchestrator: what `srun srun-docker --container=IMG --script=job.sh` does on every
// node of the step. The first node is the master (rendezvous server, runs the script in
// ssh mode); the others are workers. Every path out of here removes this node's container.
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import { isFirstTaskOfStep, renderUserError, sayOncePerStep } from "../../core/common/index.js";
import type { JobKeys, NodePlanInput } from "../../core/plan/index.js";
import { type NodePlan, planNode } from "../../core/plan/index.js";
import type { JobPorts } from "../../core/ports/index.js";
import { jobPortCandidates, type PortCandidates } from "../../core/ports/index.js";
import { type JobContext, jobStepKey, resolveJobContext } from "../../core/slurm/index.js";
import { createPortDraw } from "../../io/channel/index.js";
import type { Identity } from "../../io/files/index.js";
import { deriveJobKeys } from "../../io/files/index.js";
import type { ImageEngine } from "../../io/image/index.js";
import { createLogger, type Logger, PhaseTimer } from "../../io/process/index.js";
import type { RelayServer } from "../../io/relay/index.js";
import { type SlurmRelay, startSlurmRelay } from "../../io/slurm-relay/index.js";
import { ensureUserMaterial, type UserMaterial } from "../../io/ssh/index.js";
import { printDryRun } from "./dry-run.js";
import { findGivenImage, relaysImage, settleJobImage, startNodeRelay } from "./image/index.js";
import {
  completeRemotePorts,
  exchangeRemotePorts,
  exchangesRemotePorts,
  type PortsContext,
  probeLocalPorts,
  settleJobPorts,
} from "./job-ports.js";
import { runSrunTask } from "./launchers/srun/index.js";
import { runMaster, runWorker } from "./launchers/ssh/index.js";
import {
  cancelRendezvous,
  failRendezvous,
  messageOf,
  openRendezvous,
  type RendezvousLink,
  type RendezvousPorts,
} from "./link.js";
import { NodeContainer } from "./node-container.js";
import { type NodeRun, type Once, once } from "./node-run.js";
import { countGpusIfUnknown, defaultRunDeps, type RunDeps, type RunRuntime } from "./run-deps.js";
import { resolveScript } from "./script-path.js";
import { startScriptPassingSignals } from "./script-signals.js";
import { removeStaleContainers } from "./stale.js";
import { Teardown } from "./teardown.js";

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
  const runtime = deps.createRuntime(options.runtime, ctx.nodeName, log);
  const teardown = new Teardown({ log, signals: deps.signals, exit: deps.exit, runtime }, "tearing down");
  const job: JobRun = { options, deps, ctx, log, runtime, teardown, timer: new PhaseTimer(), link: undefined };
  try {
    const node = await openNode(job);
    const code = await runNode(job, node, await planThisNode(job, node));
    log.info(`${job.timer.summary()}; exit ${code}`);
    return code;
  } catch (error) {
    // Cancelled: every node got the signal itself, so nobody is worth lingering for.
    if (teardown.cancelledBy === undefined) await failRendezvous(job.link, error);
    else await cancelRendezvous(job.link, "the job was cancelled");
    throw error;
  } finally {
    await teardown.finish();
  }
}

/** One node's run of the ssh or each launcher; `link` is set once the rendezvous is open, for the failure path. */
interface JobRun {
  options: RunOptions;
  deps: RunDeps;
  ctx: JobContext;
  log: Logger;
  runtime: RunRuntime;
  teardown: Teardown;
  timer: PhaseTimer;
  link: RendezvousLink | undefined;
}

/** What the node has once the rendezvous is open: its keys, its ports, its relay, its link. */
interface OpenedNode {
  engine: ImageEngine;
  here: ReturnType<typeof findGivenImage>;
  identity: Identity;
  material: UserMaterial;
  keys: JobKeys;
  jobKey: string;
  candidates: PortCandidates;
  portsRun: PortsContext;
  local: RendezvousPorts;
  relay: RelayServer | undefined;
  sweep: Once;
  link: RendezvousLink;
}

/** Reads who and what this node is, draws its ports, starts its relay and opens the rendezvous. */
async function openNode(job: JobRun): Promise<OpenedNode> {
  const { options, deps, ctx, log, runtime, teardown } = job;
  // Nothing waits for what it does not need: what the engine has under --container is asked
  // at once, beside the identity.
  const engine = deps.createImageEngine(runtime);
  const here = findGivenImage(engine, options.container);
  here.catch(() => undefined); // awaited later, once the rendezvous can carry its failure
  const [identity, material] = await Promise.all([deps.readIdentity(), ensureUserMaterial(deps.materialDir)]);
  // What killed runs left (containers, job dirs) is swept once the job runs, off the launch
  // path; earlier only when a port the user gave turns out to be taken, maybe by such a container.
  const sweep = once(() =>
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
  teardown.sweep(() => sweep.started());
  const jobKey = jobStepKey(ctx);
  // Every channel of the step is keyed with the step's own secret; so is what its containers
  // get, and its ports are drawn from it.
  const keys = deriveJobKeys(material.secret, jobKey, identity.user);
  const candidates = jobPortCandidates(options, createPortDraw(keys.secret, jobKey));
  const portsRun = { options, ctx, candidates, isPortFree: deps.isPortFree, log };
  const relayInput = { secret: keys.secret, once: options.pull.once, nodes: ctx.nodes.length, jobKey, engine, log };
  const [local, relay] = await Promise.all([
    probeLocalPorts(portsRun),
    startNodeRelay({ ...relayInput, candidates: candidates.relay }),
  ]);
  teardown.relay(relay);
  // The rendezvous opens first, so that any failure from here on reaches every node at once.
  const ports = { ...local, relay: relay?.port };
  const link = await openRendezvous(ctx, keys.secret, ports, options.timeoutSeconds * 1000, log);
  job.link = link;
  teardown.tellOthers(() => cancelRendezvous(link, "the job was cancelled"));
  return { engine, here, identity, material, keys, jobKey, candidates, portsRun, local, relay, sweep, link };
}

interface PlannedNode {
  plan: NodePlan;
  input: NodePlanInput;
  ports: JobPorts;
}

/** Settles the job's image and ports with the other nodes, and plans this node's container. */
async function planThisNode(job: JobRun, node: OpenedNode): Promise<PlannedNode> {
  const { options, deps, ctx, log, runtime } = job;
  const { engine, here, link, material, relay, keys, jobKey } = node;
  const runsScript = ctx.isMaster || options.launcher === "each";
  // The one image every node runs: the master decides and announces it, each node fetches it.
  const image = settleJobImage(
    { node: ctx.nodeName, master: ctx.master, given: options.container, pull: options.pull, engine, log, here },
    link,
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
    settleJobPorts({ ...node.portsRun, link, local: node.local, sweepStale: node.sweep }),
    deps.readCpus(),
  ]);
  const input: NodePlanInput = {
    // Every node runs the image the master pinned, not whatever its copy of the tag is.
    options: { ...options, container: jobImage.runRef },
    ctx,
    env: deps.env,
    nvidiaSmiGpus,
    identity: node.identity,
    material,
    keys,
    imageAccounts,
    imagePath: jobImage.path,
    imageEntrypoint: jobImage.entrypoint,
    agentProgram: deps.agentProgram(),
    scriptPath,
    cwd: deps.cwd,
    cpus,
    ports,
  };
  return { plan: planNode(input), input, ports };
}

/** Starts this node's part: the master's or a worker's, as the rendezvous made it. */
async function runNode(job: JobRun, node: OpenedNode, planned: PlannedNode): Promise<number> {
  const { options, ctx, log, runtime, teardown, timer } = job;
  const { plan } = planned;
  // Every node finds the same; the master says it once (every node with --debug).
  if (ctx.isMaster || options.debug) for (const warning of plan.warnings) log.warn(warning);
  teardown.slurmRelay(await serveSlurmRelay(job, node, plan));
  const container = new NodeContainer(runtime, plan);
  teardown.container(container);
  const run: NodeRun = {
    options,
    ctx,
    log,
    timer,
    plan,
    container,
    secret: node.keys.secret,
    deadlineMs: options.timeoutSeconds * 1000,
    startScript: () => startScriptPassingSignals(runtime, plan, log),
    onCancel: (action) => teardown.tellOthers(action),
    report: (error) => job.deps.stderr.write(renderUserError(error)),
    sweepStale: node.sweep,
    completeRemotePorts: () => completeOwnRemotePorts(job, node, planned, container),
  };
  timer.mark("prepare");
  const link = node.link;
  const ended = link.kind === "master" ? await runMaster(run, link) : await runWorker(run, link.session);
  return teardown.exitCode(ended);
}

/**
 * The Slurm relay of this node's container (core/slurm-relay/), served from this process, which
 * outlives the script. A relay that cannot start is said once; the job runs without it, and a
 * Slurm command in the container says that the relay is not running.
 */
async function serveSlurmRelay(job: JobRun, node: OpenedNode, plan: NodePlan): Promise<SlurmRelay | undefined> {
  if (plan.slurmRelay === undefined) return undefined;
  try {
    return await startSlurmRelay({
      socketPath: plan.slurmRelay,
      secret: node.keys.secret,
      jobKey: node.jobKey,
      node: job.ctx.nodeName,
      hostEnv: job.deps.env,
      hostCwd: job.deps.cwd,
      say: (line) => job.log.warn(line),
    });
  } catch (error) {
    job.log.warn(`no Slurm commands in the container: ${messageOf(error)}`);
    return undefined;
  }
}

/** sshd on a port of its own choosing: learns every node's, and completes this node's client files. */
async function completeOwnRemotePorts(
  job: JobRun,
  node: OpenedNode,
  planned: PlannedNode,
  container: NodeContainer,
): Promise<ReadonlyMap<string, number> | undefined> {
  const own = container.remotePort();
  if (!exchangesRemotePorts(job.options) || own === undefined) return undefined;
  return completeRemotePorts({
    news: exchangeRemotePorts(node.portsRun, node.link, own),
    first: node.candidates.remote[0] ?? 0,
    replan: (all) => planNode({ ...planned.input, ports: { ...planned.ports, remotePorts: all } }).files,
    container,
    log: job.log,
  });
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
