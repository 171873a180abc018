import { hashString, usageError } from "../common/index.js";
import { expandHostlist } from "../hostlist/index.js";

/** Where this process sits in the run: which job, which nodes, which one we are. */
export interface JobContext {
  /** SLURM_JOB_ID, or `local-<hash of the node list>` outside Slurm (the same on every node). */
  readonly jobId: string;
  readonly stepId: string;
  /** SLURM_RESTART_COUNT: how often Slurm requeued the job before this run (0 for its first). */
  readonly restartCount: number;
  readonly nodes: readonly string[];
  readonly nodeName: string;
  readonly rank: number;
  /** nodes[0]: runs the script in ssh mode and the rendezvous server. */
  readonly master: string;
  readonly isMaster: boolean;
  readonly inSlurm: boolean;
}

export interface JobContextOptions {
  /** `--nodelist`, already expanded. */
  readonly nodelist: readonly string[] | undefined;
  readonly nodeRank: number | undefined;
  /** `--launcher=srun`: every task of the step runs srun-docker, many per node. */
  readonly tasksPerNode?: "one" | "many";
}

const OUTSIDE_HINT =
  "run it with srun inside an allocation (salloc -N 2; srun srun-docker ...), or give --nodelist=HOSTLIST and --node-rank=N";

/** Works out the job, the nodes and this node's rank from options and the Slurm environment. */
export function resolveJobContext(options: JobContextOptions, env: NodeJS.ProcessEnv, hostname: string): JobContext {
  const inSlurm = nonEmpty(env.SLURM_JOB_ID) !== undefined;
  const nodes = options.nodelist ?? slurmNodes(env);
  if (nodes === undefined) throw usageError("not in a Slurm job step, and no `--nodelist` given", OUTSIDE_HINT);
  if (nodes.length === 0) throw usageError("the node list is empty", "give --nodelist=HOSTLIST with at least one node");
  const duplicate = nodes.find((node, index) => nodes.indexOf(node) !== index);
  if (duplicate !== undefined) {
    throw usageError(
      `the node list names \`${duplicate}\` more than once`,
      "list each node once; one container runs per node",
    );
  }
  if (options.tasksPerNode !== "many") checkOneTaskPerNode(env);
  const hostName = nonEmpty(env.SLURMD_NODENAME) ?? shortName(hostname);
  const rank = resolveRank(options, env, nodes, hostName);
  // The list's name for this node is what the other nodes know it by (the rendezvous
  // checks it), even where the host calls itself otherwise (an FQDN, an alias).
  const nodeName = nodes[rank] ?? hostName;
  const master = nodes[0] ?? nodeName;
  return {
    jobId:
      nonEmpty(env.SLURM_JOB_ID) ??
      nonEmpty(env.SRUN_DOCKER_JOB_ID) ??
      `local-${hashString(nodes.join(",")).toString(16).padStart(8, "0")}`,
    stepId: nonEmpty(env.SLURM_STEP_ID) ?? nonEmpty(env.SLURM_STEPID) ?? "0",
    restartCount: /^\d+$/.test(env.SLURM_RESTART_COUNT?.trim() ?? "") ? Number(env.SLURM_RESTART_COUNT) : 0,
    nodes,
    nodeName,
    rank,
    master,
    isMaster: rank === 0,
    inSlurm,
  };
}

function slurmNodes(env: NodeJS.ProcessEnv): readonly string[] | undefined {
  const expr = nonEmpty(env.SLURM_STEP_NODELIST) ?? nonEmpty(env.SLURM_JOB_NODELIST) ?? nonEmpty(env.SLURM_NODELIST);
  return expr === undefined ? undefined : expandHostlist(expr);
}

/** `srun -n 4` on 2 nodes would start two orchestrators per node fighting over one container. */
function checkOneTaskPerNode(env: NodeJS.ProcessEnv): void {
  const tasks = Number(env.SLURM_STEP_NUM_TASKS);
  const nodes = Number(env.SLURM_STEP_NUM_NODES);
  if (Number.isInteger(tasks) && Number.isInteger(nodes) && nodes > 0 && tasks > nodes) {
    throw usageError(
      `the Slurm step has ${tasks} tasks on ${nodes} node(s); srun-docker needs exactly one task per node`,
      "launch it with srun --ntasks-per-node=1 (slots per node come from --slots_per_node or the GPUs), or use --launcher=srun to run one task per rank",
    );
  }
}

function resolveRank(
  options: JobContextOptions,
  env: NodeJS.ProcessEnv,
  nodes: readonly string[],
  nodeName: string,
): number {
  if (options.nodeRank !== undefined) {
    if (options.nodeRank >= nodes.length) {
      throw usageError(
        `\`--node-rank\` is ${options.nodeRank} but there are ${nodes.length} node(s)`,
        `give a rank from 0 to ${nodes.length - 1}`,
      );
    }
    return options.nodeRank;
  }
  const exact = nodes.indexOf(nodeName);
  if (exact >= 0) return exact;
  const short = nodes.map(shortName).indexOf(shortName(nodeName));
  if (short >= 0) return short;
  const nodeId = Number(env.SLURM_NODEID);
  if (
    options.nodelist === undefined &&
    nonEmpty(env.SLURM_NODEID) !== undefined &&
    Number.isInteger(nodeId) &&
    nodeId < nodes.length
  ) {
    return nodeId;
  }
  throw usageError(
    `this node, \`${nodeName}\`, is not in the node list (${nodes.join(", ")})`,
    "run on a node of the list (srun -w / --exclude), fix --nodelist, or give --node-rank=N",
  );
}

function shortName(hostname: string): string {
  return hostname.split(".")[0] ?? hostname;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
