// `--launcher=srun`: the exec each task runs, built alike for the run and for `--dry-run`
// (which prints the first task's container and the task's exec, and runs nothing).
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import { buildDockerExecArgs, type ExecPlan } from "../../core/docker-args.js";
import { dryRunStandIns, renderTaskDryRun } from "../../core/dry-run.js";
import { planNode } from "../../core/node-plan.js";
import type { JobPorts } from "../../core/ports.js";
import type { JobContext } from "../../core/slurm-context.js";
import type { TaskContext } from "../../core/task-context.js";
import { buildTaskExec } from "../../core/task-exec.js";
import { dryRunPorts } from "./dry-run.js";
import type { RunDeps } from "./run-deps.js";

export type Container = { readonly name: string; readonly devices: readonly string[] | "all" };
export type User = { readonly uid: number; readonly gid: number };

export interface TaskInputs {
  options: RunOptions;
  ctx: JobContext;
  task: TaskContext;
  deps: RunDeps;
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
  const { ctx, task, deps } = run;
  return buildTaskExec({
    containerName: container.name,
    user,
    cwd: deps.cwd,
    task,
    taskEnv: deps.env,
    master: { addr: ctx.master, port: ports.masterPort },
    nodeCount: ctx.nodes.length,
    containerDevices: container.devices,
    boundCpus: (await deps.readCpus()).boundCpus,
    command,
    terminal: deps.stdinIsTerminal === true,
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
    agentBinary: undefined,
    scriptPath: options.program === undefined ? path.resolve(deps.cwd, options.script) : options.script,
    cwd: deps.cwd,
    ports: drawn.ports,
  });
  const exec = await taskExec(
    { options, ctx, task, deps },
    { name: plan.containerName, devices: plan.gpus.deviceIds },
    { uid: identity.uid, gid: identity.gid },
    options.program ?? [path.resolve(deps.cwd, options.script), ...options.scriptArgs],
    drawn.ports,
  );
  deps.stdout.write(renderTaskDryRun(options, ctx, task, plan, buildDockerExecArgs(exec), drawn.standIn));
  return 0;
}
