/**
 * `--launcher=srun`: the `exec` each Slurm task runs in its node's container. The program
 * writes its pid (in the container) first, so a signal that srun or scancel sends the task can
 * be passed on: `docker exec` does not forward signals itself.
 */
import { buildDockerExecArgs, type ExecPlan, SWITCH_MOUNT } from "../engine/index.js";
import type { TaskContext } from "./task-context.js";
import { taskVariableNames, taskVisibleDevices, torchVariables } from "./task-context.js";

/**
 * Records the program's pid, then becomes the program (signals reach it, not a shell), bound to
 * the task's CPUs when Slurm bound the task: `docker exec` starts it under the engine, outside
 * the task's affinity. An image without taskset runs it unbound.
 */
const PID_THEN_EXEC =
  'echo $$ >"$0" && if [ -n "$SRUN_DOCKER_TASK_CPUS" ] && command -v taskset >/dev/null; then exec taskset -c "$SRUN_DOCKER_TASK_CPUS" "$@"; fi; exec "$@"';

export interface TaskExecInput {
  readonly containerName: string;
  readonly user: { readonly uid: number; readonly gid: number };
  readonly cwd: string;
  readonly task: TaskContext;
  /** The task's environment: which of its variables go in (by name). */
  readonly taskEnv: NodeJS.ProcessEnv;
  readonly master: { readonly addr: string; readonly port: number };
  readonly nodeCount: number;
  /** The CPUs Slurm bound the task to, when it bound it (a list such as `0-3,8`). */
  readonly boundCpus: string | undefined;
  /** The GPUs the node's container got (its `--gpus`), to renumber the task's. */
  readonly containerDevices: readonly string[] | "all";
  readonly command: readonly string[];
  /**
   * The task's stdin is a terminal (`srun --pty`): the program gets one too (`-i -t`), so a
   * shell has job control, the window's size, and Ctrl-C for its foreground program.
   */
  readonly terminal?: boolean;
  /**
   * The step, in a container that steps share (`--container-name`): two steps' tasks of one
   * local rank then write apart.
   */
  readonly sharedBy?: string | undefined;
}

/** The task's pid file's name in the switch dir. */
export function taskPidName(localRank: number, step?: string): string {
  return step === undefined ? `task-${localRank}.pid` : `task-${step}-${localRank}.pid`;
}

/** Where the task's pid file is inside the container (the switch dir is mounted there). */
export function taskPidFile(localRank: number, step?: string): string {
  return `${SWITCH_MOUNT}/${taskPidName(localRank, step)}`;
}

/** The exec of one task's program (the Engine API's or the CLI's). */
export function buildTaskExec(input: TaskExecInput): ExecPlan {
  return {
    name: input.containerName,
    user: input.user,
    workdir: input.cwd,
    envNames: taskVariableNames(input.taskEnv),
    env: {
      ...torchVariables(input.task, input.master, input.nodeCount),
      ...taskVisibleDevices(input.taskEnv, input.containerDevices),
      ...(input.boundCpus === undefined ? {} : { SRUN_DOCKER_TASK_CPUS: input.boundCpus }),
    },
    command: ["/bin/sh", "-c", PID_THEN_EXEC, taskPidFile(input.task.localRank, input.sharedBy), ...input.command],
    ...(input.terminal === true ? { interactive: true, tty: true } : {}),
  };
}

/** The same as the CLI's `exec` argv (`--dry-run`, `--debug`). */
export function buildTaskExecArgs(input: TaskExecInput): string[] {
  return buildDockerExecArgs(buildTaskExec(input));
}

/**
 * The task's CPU list from /proc/self/status's `Cpus_allowed_list` when it is narrower than
 * the machine's (Slurm bound the task); undefined when the task may use every CPU.
 */
export function boundCpuList(status: string, onlineCpus: number): string | undefined {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  if (list === undefined) return undefined;
  let count = 0;
  for (const part of list.split(",")) {
    const [lo, hi = lo] = part.split("-").map(Number);
    if (lo === undefined || hi === undefined || !Number.isInteger(lo) || !Number.isInteger(hi)) return undefined;
    count += hi - lo + 1;
  }
  return count < onlineCpus ? list : undefined;
}
