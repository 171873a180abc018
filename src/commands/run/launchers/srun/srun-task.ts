// `--launcher=srun`: what one Slurm task does. `srun --mpi=pmix --ntasks-per-node=4 srun-docker
// --launcher=srun --container=IMG -- python3 app.py` starts this on every task; the first task
// of each node (local rank 0) starts the node's one container, every task runs its program in
// it with its own Slurm and PMIx variables, and the first task removes the container once every
// task of its node has ended. No rendezvous: Slurm already knows every task.
import path from "node:path";
import type { RunOptions } from "../../../../cli/options.js";
import {
  formatBytes,
  formatDuration,
  renderUserError,
  SaidElsewhere,
  UserError,
} from "../../../../core/common/index.js";
import { buildJobHolderScript } from "../../../../core/engine/index.js";
import {
  checkTaskMpi,
  execUser,
  planNode,
  resolveTaskContext,
  type TaskContext,
  withEntrypoint,
} from "../../../../core/plan/index.js";
import { type JobContext, jobDirPath, jobStepKey, resolveJobContext } from "../../../../core/slurm/index.js";
import { deriveJobKeys } from "../../../../io/files/index.js";
import { createLogger, type Logger, runCommand } from "../../../../io/process/index.js";
import { SrunNodeFiles, withNodeLock } from "../../../../io/slurm/index.js";
import { ensureUserMaterial } from "../../../../io/ssh/index.js";
import { endedByASignal, unlessContainerEnds, type WatchedNode } from "../../death-watch.js";
import { decideJobImage, findGivenImage, type JobImage, type PullReporter } from "../../image/index.js";
import { firstJobPorts } from "../../job-ports.js";
import { messageOf } from "../../link.js";
import { NodeContainer } from "../../node-container.js";
import type { RunDeps, RunRuntime } from "../../run-deps.js";
import { resolveScript } from "../../script-path.js";
import { removeStaleContainers } from "../../stale.js";
import { Teardown } from "../../teardown.js";
import { chooseOnNode, mismatchError, type NamedPlace, namedPlace, saveFirstNode } from "./srun-named.js";
import { type Container, type Program, passUserSignalsTo, printTaskDryRun, startProgram } from "./srun-task-exec.js";

interface TaskRun {
  options: RunOptions;
  ctx: JobContext;
  task: TaskContext;
  log: Logger;
  runtime: RunRuntime;
  files: SrunNodeFiles;
  deps: RunDeps;
}

export async function runSrunTask(options: RunOptions, deps: RunDeps): Promise<number> {
  const ctx = resolveJobContext(
    { nodelist: options.nodelist, nodeRank: options.nodeRank, tasksPerNode: "many" },
    deps.env,
    deps.hostname,
  );
  if (!ctx.inSlurm) {
    throw new UserError("launcher", "`--launcher=srun` runs as the tasks of a Slurm step, and this is not one", {
      hint: "srun --mpi=pmix --ntasks-per-node=N srun-docker --launcher=srun --container=IMG -- PROGRAM",
      exitCode: 2,
    });
  }
  let task: TaskContext;
  try {
    task = resolveTaskContext(deps.env);
    checkTaskMpi(deps.env);
  } catch (error) {
    // Every task of the step finds the same: the first one says it.
    throw deps.env.SLURM_PROCID === "0" || !(error instanceof UserError) ? error : new SaidElsewhere(error.exitCode);
  }
  if (options.dryRun) return printTaskDryRun(options, ctx, task, deps);
  const log = createLogger({
    prefix: `${ctx.nodeName} task ${task.rank}`,
    debug: options.debug,
    write: (text) => deps.stderr.write(text),
  });
  const jobDir = jobDirPath(path.join(deps.materialDir, "jobs"), jobStepKey(ctx), ctx.nodeName);
  const run: TaskRun = {
    options,
    ctx,
    task,
    log,
    runtime: deps.createRuntime(options.runtime, ctx.nodeName, log),
    files: new SrunNodeFiles(jobDir),
    deps,
  };
  return task.localRank === 0 ? runFirstTask(run) : runOtherTask(run);
}

/** The node's container, started by its first task (or the job's, reused), and what its tasks run in it. */
interface StartedNode {
  /** This step's own container, watched for an end we did not cause; none when it is the job's. */
  watched: WatchedNode | undefined;
  /** The job's named container, made by an earlier step (this one started nothing). */
  reused: boolean;
  where: Container;
  user: { uid: number; gid: number };
  command: readonly string[];
}

/** Starts the node's container, runs its own program, and removes the container last. */
async function runFirstTask(run: TaskRun): Promise<number> {
  const { deps, runtime, log } = run;
  const teardown = new Teardown({ log, signals: deps.signals, runtime });
  let program: Program | undefined;
  const stopPassingOn = passUserSignalsTo(() => program);
  let node: StartedNode;
  try {
    node = await openNodeContainer(run, teardown);
  } catch (error) {
    // Still subscribed while endStep cancels the step: its SIGTERM reaches this task too.
    try {
      return await endStep(run, teardown, error, { announce: true });
    } finally {
      await teardown.finish();
      stopPassingOn();
    }
  }
  try {
    program = await startProgram(run, node.where, node.user, node.command);
    teardown.program(program);
    // A step that reuses the job's container leaves the sweep to the step that made it.
    const sweep = node.reused ? undefined : sweepThisNode(run, node.user.uid);
    teardown.sweep(() => sweep);
    const ownPart = finishOwnPart(run, program, teardown, node.where);
    // A container that ends takes every task's program with it; the watch tells while others run.
    const watched = node.watched;
    const code = await (watched === undefined ? ownPart : unlessContainerEnds(watched, ownPart, endedByASignal)).catch(
      (error: unknown) =>
        error instanceof UserError && error.code === "container-ended"
          ? endStep(run, teardown, error)
          : Promise.reject(error),
    );
    return teardown.exitCode(code);
  } finally {
    await teardown.finish();
    stopPassingOn();
  }
}

/**
 * The step's own container, or with `--container-name` the job's: reused when this node runs it
 * (from the same image), else created and handed to the job (srun-named.ts).
 */
async function openNodeContainer(run: TaskRun, teardown: Teardown): Promise<StartedNode> {
  const { options, ctx, deps, runtime } = run;
  if (options.containerName === undefined) return startNodeContainer(run, teardown, undefined);
  const identity = await deps.readIdentity();
  const place = namedPlace(options, options.containerName, ctx, identity.user, deps.materialDir);
  return withNodeLock(path.join(place.jobDir, "create.lock"), async () => {
    const choice = await chooseOnNode(runtime, identity.uid, ctx, place);
    if (choice.kind === "mismatch") throw mismatchError(choice);
    if (choice.kind === "create") {
      const node = await startNodeContainer(run, teardown, place);
      node.container.handOff(buildJobHolderScript(options.runtime), [ctx.jobId]);
      return { ...node, watched: undefined };
    }
    run.log.debug(`reusing ${choice.container}`);
    const where: Container = { name: choice.container, devices: choice.devices, switchDir: place.switchDir };
    const shared = { ...where, sharedBy: jobStepKey(ctx) };
    // The image's entrypoint (`--container-entrypoint`) is run by the steps that create the
    // container; a step that reuses it runs its program as given.
    await announceReady(run, shared, []);
    const user = execUser(options.shape, identity);
    return { watched: undefined, reused: true, where: shared, user, command: await programCommand(options, deps) };
  });
}

/** Plans and starts the node's one container, and tells the node's other tasks it is ready. */
async function startNodeContainer(
  run: TaskRun,
  teardown: Teardown,
  named: NamedPlace | undefined,
): Promise<StartedNode & { container: NodeContainer }> {
  const { options, ctx, deps, runtime } = run;
  const [identity, material, image] = await Promise.all([
    deps.readIdentity(),
    ensureUserMaterial(deps.materialDir),
    imageOfThisNode(run),
  ]);
  const imageAccounts = await runtime.readImageFiles(image.runRef, image.id, path.join(material.dir, "cache"));
  const command = withEntrypoint(options.shape, image.entrypoint, await programCommand(options, deps));
  const plan = planNode({
    options: { ...options, container: image.runRef },
    ctx,
    env: deps.env,
    nvidiaSmiGpus: undefined,
    identity,
    material,
    // No remote service and no rendezvous: no key of the job is used, but each is derived alike.
    keys: deriveJobKeys(material.secret, jobStepKey(ctx), identity.user),
    imageAccounts,
    imagePath: image.path,
    imageEntrypoint: image.entrypoint,
    agentProgram: undefined,
    scriptPath: command[0] ?? options.script,
    cwd: deps.cwd,
    cpus: await deps.readCpus(),
    ports: firstJobPorts(options, ctx, material.secret),
    named: named === undefined ? undefined : { name: named.name, image: named.image },
  });
  const container = new NodeContainer(runtime, plan);
  teardown.container(container);
  if (teardown.cancelledBy !== undefined) throw new UserError("cancelled", "cancelled before the container started");
  await container.start(options.timeoutSeconds * 1000);
  const where: Container = {
    name: plan.containerName,
    devices: plan.gpus.deviceIds,
    switchDir: plan.switchDir,
    sharedBy: named === undefined ? undefined : jobStepKey(ctx),
  };
  const entrypoint = options.shape.entrypoint ? (image.entrypoint ?? []) : [];
  await announceReady(run, where, entrypoint);
  // Root with --container-remap-root: the program runs, and is signalled, as that user.
  const user = execUser(options.shape, identity);
  return { watched: { container, ctx, plan, options }, reused: false, where, user, command, container };
}

/** Tells the node's other tasks which container to exec into, and what their programs run under. */
function announceReady(run: TaskRun, where: Container, entrypoint: readonly string[]): Promise<void> {
  const { name, devices, switchDir, sharedBy } = where;
  return run.files.announce({ kind: "ready", container: name, devices, entrypoint, switchDir, sharedBy });
}

/** What killed runs left here, an earlier run of this job included (requeued), once the job runs. */
function sweepThisNode(run: TaskRun, uid: number): Promise<void> {
  const { runtime, log, ctx, deps } = run;
  const jobsDir = path.join(deps.materialDir, "jobs");
  const mine = { runtime, log, uid, currentJob: deps.env.SLURM_JOB_ID, currentRestart: ctx.restartCount };
  return removeStaleContainers({ ...mine, jobsDir, node: ctx.nodeName }).catch(() => undefined);
}

/**
 * The first task's own program, then (unless cancelled) the wait for the node's other tasks,
 * then on the first node `--container-save`.
 */
async function finishOwnPart(run: TaskRun, program: Program, teardown: Teardown, where: Container): Promise<number> {
  const code = await program.exit;
  await run.files.done(0);
  if (teardown.cancelledBy !== undefined) return code;
  await run.files.waitForOthers(run.task.localSize, 0, run.options.timeoutSeconds * 1000);
  const save = run.options.containerSave;
  if (save !== undefined && run.ctx.rank === 0 && teardown.cancelledBy === undefined) {
    await saveFirstNode(run.runtime, run.ctx, where.name, path.resolve(run.deps.cwd, save), run.log);
  }
  return code;
}

/**
 * This node cannot go on (its container failed to start, or ended during the job): says why,
 * once for the node's tasks (and tells them, when they wait for the container), removes the
 * container, and ends the step, whose ranks elsewhere would wait in PMIx for this node's.
 */
async function endStep(run: TaskRun, teardown: Teardown, error: unknown, { announce = false } = {}): Promise<never> {
  // Said before the step is cancelled: the other nodes' cancel may end this task any moment.
  if (error instanceof UserError) run.deps.stderr.write(renderUserError(error));
  const failed = { kind: "failed", message: `${run.ctx.nodeName}: ${messageOf(error)}` } as const;
  if (announce) await run.files.announce(failed).catch(() => undefined);
  await teardown.removeContainer();
  await runCommand("scancel", [`${run.ctx.jobId}.${run.ctx.stepId}`]).catch(() => undefined);
  throw error instanceof UserError ? new SaidElsewhere(error.exitCode) : error;
}

/** Waits for the first task's container, then runs its own program in it. */
async function runOtherTask(run: TaskRun): Promise<number> {
  const { options, ctx, deps } = run;
  // The container is the first task's: this one only passes signals to its own program.
  const teardown = new Teardown({ log: run.log, signals: deps.signals });
  let program: Program | undefined;
  const stopPassingOn = passUserSignalsTo(() => program);
  try {
    const state = await run.files.waitForNode(options.timeoutSeconds * 1000);
    if (state === undefined) {
      throw new UserError("task", `${ctx.nodeName}: no container after ${options.timeoutSeconds} s`, {
        hint: "the node's first task (SLURM_LOCALID=0) starts it; see its error above",
      });
    }
    // The node's first task has said why, naming the node.
    if (state.kind === "failed") throw new SaidElsewhere(1);
    if (teardown.cancelledBy !== undefined) return teardown.exitCode(0);
    const [identity, words] = await Promise.all([deps.readIdentity(), programCommand(options, deps)]);
    const command = [...state.entrypoint, ...words];
    const user = execUser(options.shape, identity);
    const where = {
      name: state.container,
      devices: state.devices,
      switchDir: state.switchDir,
      sharedBy: state.sharedBy,
    };
    program = await startProgram(run, where, user, command);
    teardown.program(program);
    const code = await program.exit.catch(async (error: unknown) => {
      // The container ended under the program (its exec is gone with it): the first task says so.
      const now = await run.runtime.containerStates().look(state.container);
      throw now.kind === "exited" || now.kind === "gone" ? new SaidElsewhere(1) : error;
    });
    return teardown.exitCode(code);
  } finally {
    await run.files.done(run.task.localRank);
    await teardown.finish();
    stopPassingOn();
  }
}

/** What each task runs: `--script` resolved as the other launchers do, or the program after `--` (found in the container). */
async function programCommand(options: RunOptions, deps: RunDeps): Promise<readonly string[]> {
  return options.program ?? [await resolveScript(options.script, deps.cwd), ...options.scriptArgs];
}

/**
 * Without a rendezvous each node's first task settles the image alone: its own copy, else the
 * registry's digest for the tag, pulled here (nodes resolving within moments of each other get
 * the same digest; a digest reference, or `srun-docker pull` ahead, pins it for certain).
 */
function imageOfThisNode(run: TaskRun): Promise<JobImage> {
  const { options, ctx, log, runtime, deps } = run;
  const engine = deps.createImageEngine(runtime);
  const step = { node: ctx.nodeName, master: ctx.nodeName, given: options.container, pull: options.pull, engine, log };
  const quiet: PullReporter = {
    started: () => log.info(`pulling ${options.container}`),
    progress: () => {},
    finished: (bytes, ms) => log.info(`pulled ${options.container}: ${formatBytes(bytes)} in ${formatDuration(ms)}`),
    failed: () => {},
  };
  return decideJobImage({ ...step, here: findGivenImage(engine, options.container) }, () => {}, quiet);
}
