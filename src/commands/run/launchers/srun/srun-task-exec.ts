// `--launcher=srun`: the exec each task runs, built alike for the run and for `--dry-run`
// (which prints the first task's container and the task's exec, and runs nothing), and the
// program it starts, to which the task passes Slurm's signals.
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { RunOptions } from "../../../../cli/options.js";
import { buildDockerExecArgs, type ExecPlan } from "../../../../core/engine/index.js";
import { describeNamedChoice } from "../../../../core/job-container/index.js";
import type { TaskContext } from "../../../../core/plan/index.js";
import {
  buildTaskExec,
  dryRunStandIns,
  execUser,
  planNode,
  renderTaskDryRun,
  taskPidName,
} from "../../../../core/plan/index.js";
import type { JobPorts } from "../../../../core/ports/index.js";
import { type JobContext, jobStepKey } from "../../../../core/slurm/index.js";
import type { Logger } from "../../../../io/process/index.js";
import { createLogger, exitCodeOf, onUserSignals } from "../../../../io/process/index.js";
import type { SrunNodeFiles } from "../../../../io/slurm/index.js";
import { ensureUserMaterial } from "../../../../io/ssh/index.js";
import { dryRunPorts } from "../../dry-run.js";
import { firstJobPorts } from "../../job-ports.js";
import type { RunDeps, RunRuntime } from "../../run-deps.js";
import { chooseOnNode, namedPlace } from "./srun-named.js";

/**
 * The node's container: its name, GPUs and switch dir (on the host), and for a named container
 * (`--container-name`), which steps share, the step, which names the tasks' pid files apart.
 */
export type Container = {
  readonly name: string;
  readonly devices: readonly string[] | "all";
  readonly switchDir: string;
  readonly sharedBy?: string | undefined;
};
export type User = { readonly uid: number; readonly gid: number };

export interface TaskInputs {
  options: RunOptions;
  ctx: JobContext;
  task: TaskContext;
  deps: RunDeps;
}

/** What starting the program needs besides: the node's engine, its tasks' files, the task's log. */
export interface ProgramRun extends TaskInputs {
  runtime: Pick<RunRuntime, "exec" | "signalProcess">;
  files: SrunNodeFiles;
  log: Logger;
}

/**
 * The exec this task runs in `container`, for the run and the dry run alike. `ports`: the step's
 * first candidates (commands/run/job-ports.ts firstJobPorts), alike on every node: no task talks
 * to another before the program runs.
 */
export async function taskExec(
  run: TaskInputs,
  container: Container,
  user: User,
  command: readonly string[],
  ports: JobPorts,
): Promise<ExecPlan> {
  const { ctx, task, deps, options } = run;
  return buildTaskExec({
    containerName: container.name,
    user: execUser(options.shape, user),
    cwd: options.shape.workdir ?? deps.cwd,
    task,
    taskEnv: deps.env,
    master: { addr: ctx.master, port: ports.masterPort },
    nodeCount: ctx.nodes.length,
    containerDevices: container.devices,
    boundCpus: (await deps.readCpus()).boundCpus,
    command,
    terminal: deps.stdinIsTerminal === true,
    sharedBy: container.sharedBy,
  });
}

/** The first task's container and this task's exec, planned as the run plans them; nothing runs. */
export async function printTaskDryRun(
  options: RunOptions,
  ctx: JobContext,
  task: TaskContext,
  deps: RunDeps,
): Promise<number> {
  const [identity, drawn] = await Promise.all([deps.readIdentity(), dryRunPorts(options, ctx, deps.materialDir)]);
  const plan = planNode({
    options,
    ctx,
    env: deps.env,
    nvidiaSmiGpus: undefined,
    identity,
    ...dryRunStandIns(deps.materialDir),
    cpus: await deps.readCpus(),
    agentProgram: undefined,
    scriptPath: options.program === undefined ? path.resolve(deps.cwd, options.script) : options.script,
    cwd: deps.cwd,
    ports: drawn.ports,
    named: options.containerName === undefined ? undefined : { name: options.containerName, image: options.container },
  });
  const container = { name: plan.containerName, devices: plan.gpus.deviceIds, switchDir: plan.switchDir };
  const exec = await taskExec(
    { options, ctx, task, deps },
    { ...container, sharedBy: options.containerName === undefined ? undefined : jobStepKey(ctx) },
    { uid: identity.uid, gid: identity.gid },
    options.program ?? [path.resolve(deps.cwd, options.script), ...options.scriptArgs],
    drawn.ports,
  );
  deps.stdout.write(renderTaskDryRun(options, ctx, task, plan, buildDockerExecArgs(exec), drawn.standIn));
  if (options.containerName !== undefined) deps.stdout.write(`${await namedChoiceLine(options, ctx, deps)}\n`);
  return 0;
}

/** `--container-name`'s line in the dry run: create or reuse, from a look at this node's engine (nothing changes). */
async function namedChoiceLine(options: RunOptions, ctx: JobContext, deps: RunDeps): Promise<string> {
  const name = options.containerName ?? "";
  const identity = await deps.readIdentity();
  const log = createLogger({ prefix: ctx.nodeName, debug: options.debug, write: (text) => deps.stderr.write(text) });
  const runtime = deps.createRuntime(options.runtime, ctx.nodeName, log);
  const place = namedPlace(options, name, ctx, identity.user, deps.materialDir);
  return describeNamedChoice(await chooseOnNode(runtime, identity.uid, ctx, place), name, ctx.nodeName);
}

/**
 * SIGUSR1 and SIGUSR2 (Slurm's checkpoint request) go to the task's program once it runs, which
 * decides what they mean; before that there is no program ready for them, and they are dropped.
 */
export function passUserSignalsTo(program: () => Program | undefined): () => void {
  return onUserSignals(
    (signal) =>
      void program()
        ?.signal(signal)
        .catch(() => undefined),
  );
}

export interface Program {
  exit: Promise<number>;
  signal(signal: NodeJS.Signals): Promise<void>;
}

export async function startProgram(
  run: ProgramRun,
  container: Container,
  user: User,
  command: readonly string[],
): Promise<Program> {
  const { options, task, runtime, files } = run;
  // The step's first candidates, alike on every node (the node's first task made the secret).
  const ports = firstJobPorts(options, run.ctx, (await ensureUserMaterial(run.deps.materialDir)).secret);
  const exec = await taskExec(run, container, user, command, ports);
  run.log.debug(`$ ${options.runtime} ${buildDockerExecArgs(exec).join(" ")}`);
  await files.started(task.localRank, process.pid);
  const job = runtime.exec(exec);
  const pidFile = path.join(container.switchDir, taskPidName(task.localRank, container.sharedBy));
  return {
    exit: job.exit.then(exitCodeOf),
    async signal(signal) {
      const pid = Number(await readFile(pidFile, "utf8").catch(() => ""));
      if (Number.isInteger(pid) && pid > 0) await runtime.signalProcess(container.name, user, pid, signal);
    },
  };
}
