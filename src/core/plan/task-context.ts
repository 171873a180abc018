/**
 * `--launcher=srun`: Slurm starts every task, and every task runs srun-docker. What one task
 * learns from the environment slurmstepd gives it: its ranks, how many tasks share its node
 * (the first of them, local rank 0, starts the node's container), and which of its variables
 * the program in the container must see (PMIx's, Slurm's, MPI's, the GPUs bound to the task).
 */

import { usageError } from "../common/index.js";
import type { Mount } from "../engine/index.js";

export interface TaskContext {
  /** SLURM_PROCID: this task's rank in the step. */
  readonly rank: number;
  /** SLURM_LOCALID: its rank among the tasks of its node; 0 starts the node's container. */
  readonly localRank: number;
  /** SLURM_NTASKS (SLURM_STEP_NUM_TASKS): every task of the step. */
  readonly worldSize: number;
  /** How many tasks of the step run on this node (SLURM_STEP_TASKS_PER_NODE at SLURM_NODEID). */
  readonly localSize: number;
  /** SLURM_NODEID: this node's index in the step. */
  readonly nodeIndex: number;
}

const HINT = "run it as a Slurm step: srun --mpi=pmix --ntasks-per-node=N srun-docker --launcher=srun ...";

export function resolveTaskContext(env: NodeJS.ProcessEnv): TaskContext {
  const rank = count(env, "SLURM_PROCID");
  const localRank = count(env, "SLURM_LOCALID");
  const nodeIndex = count(env, "SLURM_NODEID");
  const worldSize = count(env, env.SLURM_STEP_NUM_TASKS !== undefined ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS");
  const perNode = parseTasksPerNode(env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE ?? "");
  const localSize = perNode[nodeIndex];
  if (localSize === undefined || localRank >= localSize) {
    throw usageError(
      `\`--launcher=srun\` cannot tell how many tasks share this node (SLURM_STEP_TASKS_PER_NODE=${env.SLURM_STEP_TASKS_PER_NODE ?? "unset"}, SLURM_NODEID=${nodeIndex})`,
      HINT,
    );
  }
  return { rank, localRank, worldSize, localSize, nodeIndex };
}

/** Slurm's compact form: `2(x3),1` is 2, 2, 2, 1 tasks on the step's nodes in order. */
export function parseTasksPerNode(text: string): number[] {
  if (text.trim() === "") return [];
  const counts: number[] = [];
  for (const item of text.split(",")) {
    const m = /^\s*(\d+)(?:\(x(\d+)\))?\s*$/.exec(item);
    if (m === null) return [];
    for (let i = 0; i < Number(m[2] ?? 1); i++) counts.push(Number(m[1]));
  }
  return counts;
}

/**
 * The task's own variables the program must see, by name (`docker exec -e NAME` takes the
 * value from the exec's environment, which is the task's): PMIx and PMI (the rank's way to its
 * node's PMIx server), Slurm's, Open MPI's and the GPUs Slurm bound to this task.
 */
export function taskVariableNames(env: NodeJS.ProcessEnv): string[] {
  const task = /^(SLURM_|SLURMD_|PMIX_|PMI_|OMPI_|PRTE_|UCX_)/;
  const devices = new Set(["ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "ZE_AFFINITY_MASK"]);
  return Object.keys(env)
    .filter((name) => (task.test(name) || devices.has(name)) && env[name] !== undefined)
    .sort();
}

/**
 * The GPUs Slurm bound to this task (`--gpus-per-task`: CUDA_VISIBLE_DEVICES=3), as the program
 * in the container must name them: a container given some of the node's GPUs (`--gpus
 * device=2,3`) numbers them from 0, so host GPU 3 is its GPU 1. Ids the container lacks stay as
 * they are (CUDA then finds no such device, as it would on the host).
 */
export function taskVisibleDevices(
  env: NodeJS.ProcessEnv,
  containerDevices: readonly string[] | "all",
): Record<string, string> {
  const value = env.CUDA_VISIBLE_DEVICES;
  if (value === undefined) return {};
  if (containerDevices === "all" || containerDevices.length === 0) return { CUDA_VISIBLE_DEVICES: value };
  const mapped = value.split(",").map((id) => {
    const at = containerDevices.indexOf(id.trim());
    return at < 0 ? id.trim() : String(at);
  });
  return { CUDA_VISIBLE_DEVICES: mapped.join(",") };
}

/** What PyTorch, DeepSpeed and Horovod read, derived from Slurm's (no launcher needed). */
export function torchVariables(
  task: TaskContext,
  master: { readonly addr: string; readonly port: number },
  nodeCount: number,
): Record<string, string> {
  return {
    RANK: String(task.rank),
    LOCAL_RANK: String(task.localRank),
    WORLD_SIZE: String(task.worldSize),
    LOCAL_WORLD_SIZE: String(task.localSize),
    NODE_RANK: String(task.nodeIndex),
    NNODES: String(nodeCount),
    MASTER_ADDR: master.addr,
    MASTER_PORT: String(master.port),
  };
}

/**
 * `srun --mpi=pmi2` hands each task an inherited descriptor (PMI_FD) that `docker exec` cannot
 * carry into the container; PMIx is reached over a socket in a directory we can mount.
 */
export function checkTaskMpi(env: NodeJS.ProcessEnv): void {
  if (env.PMI_FD !== undefined && env.PMIX_SERVER_URI2 === undefined && env.PMIX_SERVER_URI21 === undefined) {
    throw usageError(
      "`srun --mpi=pmi2` passes each task an open descriptor (PMI_FD), which cannot reach a program in a container",
      "use srun --mpi=pmix (the nodes need Slurm's PMIx plugin; on Debian, libpmix-dev)",
    );
  }
}

function count(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name];
  const value = Number(text);
  if (text === undefined || text.trim() === "" || !Number.isInteger(value) || value < 0) {
    throw usageError(
      `\`--launcher=srun\` needs ${name} from Slurm, and it is ${text === undefined ? "unset" : `\`${text}\``}`,
      HINT,
    );
  }
  return value;
}

/**
 * The PMIx server of this step (in slurmstepd) keeps its shared-memory store in
 * PMIX_SERVER_TMPDIR, under SlurmdSpoolDir: the ranks read it at the same path (without it
 * PMIx falls back to slower messages and prints errors). A container that later steps share
 * (`--container-name`) mounts the directory above, where every step's store appears.
 */
export function pmixMounts(env: NodeJS.ProcessEnv, sharedBySteps = false): Mount[] {
  const step = env.PMIX_SERVER_TMPDIR?.replace(/\/+$/, "");
  const dir = step && sharedBySteps ? step.replace(/\/[^/]+$/, "") : step;
  return dir ? [{ source: dir, target: dir }] : [];
}
