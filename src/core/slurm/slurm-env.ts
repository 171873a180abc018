/**
 * The job's Slurm environment in the container, for the ssh and each launchers: the script's
 * exec and every command the agent (or the job's sshd) starts on a node get the `SLURM_*`
 * variables of srun-docker's own step on that node (array task, restart count, node lists,
 * counts, submit dir, job name, partition, account, CPUs, memory, ...), by the rule below.
 * (With `--launcher=srun` each program is a Slurm task of its own and gets all of its own:
 * core/plan/task-context.ts.)
 *
 * srun started one srun-docker per node, not the program's ranks, so what describes that one
 * task, or counts such tasks, would mislead the programs inside: they are left out, each group
 * with its reason (README "What the job script sees" lists them). What srun-docker sets itself
 * (`SLURM_JOB_ID`, hostlist, np, ...) always wins.
 */

export interface LeftOutGroup {
  readonly names: RegExp;
  readonly why: string;
}

export const LEFT_OUT: readonly LeftOutGroup[] = [
  {
    names: /^SLURM_(PROCID|LOCALID|NODEID|GTIDS|TASK_PID)$/,
    why: "srun-docker's own task on the node (its rank, its host pid), not any process of the job: NODE_RANK and the launchers' RANK say where a program runs",
  },
  {
    names: /^SLURM_(NTASKS|NTASKS_PER_[A-Z]+|NPROCS|TASKS_PER_NODE|STEP_NUM_TASKS|STEP_TASKS_PER_NODE|DISTRIBUTION)$/,
    why: "they count srun-docker's tasks (one per node), not the program's ranks (np): Lightning and submitit take SLURM_NTASKS as srun having started every rank and then read each rank from SLURM_PROCID; Open MPI takes SLURM_TASKS_PER_NODE as its slots",
  },
  {
    names: /^SLURM_(CPU_BIND|MEM_BIND)(_[A-Z]+)*$/,
    why: "how srun bound srun-docker's task; the container's CPUs are its --cpuset-cpus",
  },
  {
    names: /^SLURM_JOBID$/,
    why: "the old name of SLURM_JOB_ID (which is passed): Open MPI's and PRRTE's mpirun take it as a Slurm allocation and then use Slurm's slots instead of -H $hostlist (`-np $np` fails: not enough slots) and, without the agent, launch through srun",
  },
  {
    names:
      /^SLURM_(SRUN_COMM_HOST|SRUN_COMM_PORT|STEP_LAUNCHER_PORT|LAUNCH_NODE_IPADDR|STEP_RESV_PORTS|PMIXP?_[A-Z_]+)$/,
    why: "srun's and slurmstepd's own connections for srun-docker's step, of no use to a program in the container",
  },
];

const SLURM_NAME = /^SLURMD?_/;

/** Why `name` stays out of the container, or undefined when it passes (or is no Slurm variable). */
export function whyLeftOut(name: string): string | undefined {
  return LEFT_OUT.find((group) => group.names.test(name))?.why;
}

/**
 * The Slurm variables of `env` the job's programs see, by name, sorted; none that `own` (what
 * srun-docker sets itself) names.
 */
export function passedSlurmNames(env: NodeJS.ProcessEnv, own: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .filter((name) => SLURM_NAME.test(name) && env[name] !== undefined && !Object.hasOwn(own, name))
    .filter((name) => whyLeftOut(name) === undefined)
    .sort();
}

/** Their values, for the files that carry the job's environment to remote commands. */
export function pickEnv(env: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}
