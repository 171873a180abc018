/**
 * The environment the job script sees. The reference's `hostlist` (node:slots,…), `np` and
 * `ENVLIST`, plus what modern launchers read (torchrun, DeepSpeed, Horovod, mpirun).
 */
export interface JobEnvInput {
  readonly nodes: readonly string[];
  /** This node's rank (NODE_RANK). */
  readonly rank: number;
  readonly slotsPerNode: number;
  readonly masterPort: number;
  /** Where the hostfile (renderHostfile) is written, as seen inside the container. */
  readonly hostfilePath: string;
  readonly jobId: string;
  /** `--envlist` names; their values are copied from `callerEnv`. */
  readonly envlist: readonly string[];
  readonly callerEnv: NodeJS.ProcessEnv;
  /**
   * An ssh command that reads the generated client config (`ssh -F FILE`), given to Open MPI
   * so a user's own ~/.ssh/config (e.g. the reference's Port block) cannot override ours.
   */
  readonly sshCommand?: string | undefined;
}

/** `node1:4,node2:4`, as the reference exported it for `mpirun -H $hostlist`. */
export function renderHostlistVar(nodes: readonly string[], slots: number): string {
  return nodes.map((node) => `${node}:${slots}`).join(",");
}

/** OpenMPI / DeepSpeed hostfile: one `node slots=N` line per node. */
export function renderHostfile(nodes: readonly string[], slots: number): string {
  return nodes.map((node) => `${node} slots=${slots}\n`).join("");
}

/** The whole environment: the `--envlist` values under ours. */
export function buildJobEnv(input: JobEnvInput): Record<string, string> {
  return planJobEnv(input).all;
}

export interface JobEnv {
  /** Everything, for the files only the user can read (the agent's config, authorized_keys). */
  readonly all: Record<string, string>;
  /** What an exec passes by value (`-e NAME=value`, shown by `--dry-run` and `--debug`): ours. */
  readonly values: Record<string, string>;
  /** What an exec passes by name alone (`-e NAME`): the `--envlist` names we do not set. */
  readonly names: string[];
}

/**
 * The `--envlist` values, tokens often, travel in the engine call's environment (`-e NAME`)
 * and never on a command line, which every user of the node can read in /proc.
 */
export function planJobEnv(input: JobEnvInput): JobEnv {
  const values = buildOwnJobEnv(input);
  return {
    all: { ...envlistValues(input.envlist, input.callerEnv), ...values },
    values,
    names: input.envlist.filter((name) => !Object.hasOwn(values, name)),
  };
}

function envlistValues(envlist: readonly string[], callerEnv: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of envlist) {
    const value = callerEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** What srun-docker itself sets: the reference's variables and the launchers'. */
function buildOwnJobEnv(input: JobEnvInput): Record<string, string> {
  const np = input.slotsPerNode * input.nodes.length;
  const env: Record<string, string> = {
    hostlist: renderHostlistVar(input.nodes, input.slotsPerNode),
    np: String(np),
    NNODES: String(input.nodes.length),
    NODE_RANK: String(input.rank),
    NPROC_PER_NODE: String(input.slotsPerNode),
    MASTER_ADDR: input.nodes[0] ?? "",
    MASTER_PORT: String(input.masterPort),
    WORLD_SIZE: String(np),
    HOSTFILE: input.hostfilePath,
    SLURM_JOB_ID: input.jobId,
  };
  if (input.envlist.length > 0) env.ENVLIST = input.envlist.join(",");
  if (input.sshCommand !== undefined) {
    env.OMPI_MCA_plm_rsh_agent = input.sshCommand;
    env.PRTE_MCA_plm_ssh_agent = input.sshCommand;
  }
  return env;
}

/** `--envlist` names not set in the caller's environment (worth a warning). */
export function findMissingEnvlist(envlist: readonly string[], callerEnv: NodeJS.ProcessEnv): string[] {
  return envlist.filter((name) => callerEnv[name] === undefined);
}

/** What the user hears when `--envlist` names variables that are not set here. */
export function envlistWarnings(envlist: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const unset = findMissingEnvlist(envlist, env);
  if (unset.length === 0) return [];
  return [
    `--envlist names ${unset.join(", ")}, not set here: the job does not get ${unset.length === 1 ? "it" : "them"}`,
  ];
}
