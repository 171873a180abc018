// What a node's container may use, from what Slurm allocated to this step on the node. The
// engine's daemon, not slurmstepd, creates the container, so without these the job would get
// every core and all memory of a node it shares with other jobs. Pure: io reads the
// facts (Slurm's variables, this process's CPU affinity, the node's CPU count).

import type { Runtime } from "../common/index.js";

export type LimitsMode = "slurm" | "none";

/** `--pids-limit`: a number, `none`, or unset (our default under `--limits=slurm`). */
export type PidsLimit =
  | { readonly kind: "default" }
  | { readonly kind: "none" }
  | { readonly kind: "max"; readonly value: number };

export interface LimitFacts {
  readonly env: NodeJS.ProcessEnv;
  /** This process's `Cpus_allowed_list` when Slurm bound it narrower than the node (task-exec's boundCpuList). */
  readonly boundCpus: string | undefined;
  /** The CPUs the node has online. */
  readonly onlineCpus: number;
  /** The srun launcher's first task is one of several: its own binding is not the node's. */
  readonly oneTaskOfMany: boolean;
  /** Rootless Podman on cgroup v1 cannot apply any limit (it warns and ignores them). */
  readonly unenforceable: boolean;
}

/** One limit and where it came from, for `--dry-run`, `--debug` and the out-of-memory line. */
export interface Limit<T> {
  readonly value: T;
  readonly from: string;
}

export interface ContainerLimits {
  readonly cpuset?: Limit<string>;
  readonly cpus?: Limit<number>;
  readonly memoryBytes?: Limit<number>;
  readonly pids?: Limit<number>;
}

/** Enough for MPI ranks with OpenMP threads and data loaders, per CPU; never below the floor. */
export const PIDS_PER_CPU = 1024;
export const PIDS_FLOOR = 4096;

const MIB = 1024 * 1024;

export function planLimits(mode: LimitsMode, pids: PidsLimit, facts: LimitFacts): ContainerLimits {
  if (facts.unenforceable) return {};
  const cpusOnNode = positiveInt(facts.env.SLURM_CPUS_ON_NODE);
  const fromSlurm = mode === "slurm" ? { ...cpuLimits(facts, cpusOnNode), ...memoryLimit(facts.env, cpusOnNode) } : {};
  const pidsLimit = planPids(mode, pids, cpusOnNode ?? facts.onlineCpus);
  return pidsLimit === undefined ? fromSlurm : { ...fromSlurm, pids: pidsLimit };
}

function cpuLimits(facts: LimitFacts, cpusOnNode: number | undefined): Pick<ContainerLimits, "cpuset" | "cpus"> {
  // Slurm bound the task (task/affinity, task/cgroup): the container gets exactly those CPUs.
  if (!facts.oneTaskOfMany && facts.boundCpus !== undefined) {
    return { cpuset: { value: facts.boundCpus, from: "the step's CPU binding" } };
  }
  // Not bound: a quota worth the CPUs the job has on this node, the kernel picks which.
  if (cpusOnNode !== undefined && cpusOnNode < facts.onlineCpus) {
    return { cpus: { value: cpusOnNode, from: `SLURM_CPUS_ON_NODE=${cpusOnNode}` } };
  }
  return {};
}

function memoryLimit(env: NodeJS.ProcessEnv, cpusOnNode: number | undefined): Pick<ContainerLimits, "memoryBytes"> {
  // Slurm exports the one the job asked for (or the partition's default, e.g. DefMemPerCPU).
  const perNode = positiveInt(env.SLURM_MEM_PER_NODE);
  if (perNode !== undefined) return { memoryBytes: { value: perNode * MIB, from: "--mem" } };
  const perCpu = positiveInt(env.SLURM_MEM_PER_CPU);
  if (perCpu !== undefined && cpusOnNode !== undefined) {
    return { memoryBytes: { value: perCpu * cpusOnNode * MIB, from: `--mem-per-cpu=${perCpu}M × ${cpusOnNode} CPUs` } };
  }
  const perGpu = positiveInt(env.SLURM_MEM_PER_GPU);
  const gpus = positiveInt(env.SLURM_GPUS_ON_NODE);
  if (perGpu !== undefined && gpus !== undefined) {
    return { memoryBytes: { value: perGpu * gpus * MIB, from: `--mem-per-gpu=${perGpu}M × ${gpus} GPUs` } };
  }
  return {};
}

function planPids(mode: LimitsMode, pids: PidsLimit, cpus: number): Limit<number> | undefined {
  switch (pids.kind) {
    case "none":
      return undefined;
    case "max":
      return { value: pids.value, from: "--pids-limit" };
    case "default":
      if (mode === "none") return undefined;
      return {
        value: Math.max(PIDS_FLOOR, PIDS_PER_CPU * cpus),
        from: `${PIDS_PER_CPU} per CPU, at least ${PIDS_FLOOR}`,
      };
  }
}

/**
 * The engine options for the limits, less those the user's own `--dockopts` set: theirs win, and
 * a half-overridden pair (our --memory-swap beside their --memory) would make docker refuse.
 */
export function limitArgs(limits: ContainerLimits, dockopts: readonly string[]): string[] {
  const theirs = optionNames(dockopts);
  const mine = (names: readonly string[]) => !names.some((name) => theirs.has(name));
  const args: string[] = [];
  if (limits.cpuset && mine(["--cpuset-cpus"])) args.push(`--cpuset-cpus=${limits.cpuset.value}`);
  if (limits.cpus && mine(["--cpus", "--cpu-quota", "--cpu-period"])) args.push(`--cpus=${limits.cpus.value}`);
  if (limits.memoryBytes && mine(["--memory", "-m", "--memory-swap"])) {
    // Swap limited to the same: memory + swap = memory, so no swap beyond the allocation.
    args.push(`--memory=${limits.memoryBytes.value}b`, `--memory-swap=${limits.memoryBytes.value}b`);
  }
  if (limits.pids && mine(["--pids-limit"])) args.push(`--pids-limit=${limits.pids.value}`);
  return args;
}

/** The container's own log: at most this much per file (docker keeps two files, podman truncates). */
export const CONTAINER_LOG_MAX_SIZE = "4m";
export const CONTAINER_LOG_FILES = 2;

/**
 * A cap on the container's own log (the agent's or sshd's lines, not the job's output), which is
 * on the engine's disk: sshd logs every connection another user opens to its port. Docker's
 * default json-file driver keeps everything; its `max-size` and `max-file` exist only for
 * json-file and local (another driver refuses them, failing the start), and asking the daemon
 * which driver it defaults to (`/info`) costs it 0.1-0.2 s, so the driver is named. Podman's
 * k8s-file truncates at `max-size`; with journald the journal's own limits apply. Options
 * of the user's own that name a log driver or option win: none of ours are added then.
 */
export function logLimitArgs(runtime: Runtime, dockopts: readonly string[]): string[] {
  const theirs = optionNames(dockopts);
  if (theirs.has("--log-driver") || theirs.has("--log-opt")) return [];
  const size = `--log-opt=max-size=${CONTAINER_LOG_MAX_SIZE}`;
  if (runtime === "podman") return [size];
  return ["--log-driver=json-file", size, `--log-opt=max-file=${CONTAINER_LOG_FILES}`];
}

/** `--memory=4g`, `--memory 4g`, `-m4g`, `-m 4g`: the option names in the user's docker options. */
export function optionNames(words: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const word of words) {
    if (word.startsWith("--")) names.add(word.split("=", 1)[0] as string);
    else if (/^-[a-zA-Z]/.test(word)) names.add(word.slice(0, 2));
  }
  return names;
}

/** "4 GiB", "256 MiB", "1.5 GiB": the limit as a person reads it. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (unit < units.length - 1 && bytes >= 1024 ** (unit + 1)) unit += 1;
  const value = bytes / 1024 ** unit;
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A node's limits and the warning when its engine cannot apply them, from planNode's facts. */
export function planNodeLimits(
  options: { limits: LimitsMode; pidsLimit: PidsLimit; launcher: string; runtime: Runtime },
  uid: number,
  env: NodeJS.ProcessEnv,
  cpus: { boundCpus: string | undefined; onlineCpus: number; cgroupV2: boolean },
): { limits: ContainerLimits; warning: string | undefined } {
  const facts: LimitFacts = {
    env,
    boundCpus: cpus.boundCpus,
    onlineCpus: cpus.onlineCpus,
    oneTaskOfMany: options.launcher === "srun",
    unenforceable: options.runtime === "podman" && uid !== 0 && !cpus.cgroupV2,
  };
  return {
    limits: planLimits(options.limits, options.pidsLimit, facts),
    warning: unenforceableWarning(options.limits, facts),
  };
}

/** What the user hears when limits were due but the engine cannot apply them. */
export function unenforceableWarning(mode: LimitsMode, facts: LimitFacts): string | undefined {
  if (!facts.unenforceable || mode === "none") return undefined;
  return "rootless Podman cannot limit a container on cgroup v1 (this node): it gets the whole node, not what Slurm allocated; cgroup v2 or Docker would apply the limits";
}

/** The lines `--dry-run` shows: each limit, its engine option and where it came from. */
export function describeLimits(limits: ContainerLimits): string[] {
  const lines: string[] = [];
  if (limits.cpuset) lines.push(`cpuset ${limits.cpuset.value} (from ${limits.cpuset.from})`);
  if (limits.cpus) lines.push(`cpus ${limits.cpus.value} (from ${limits.cpus.from})`);
  if (limits.memoryBytes)
    lines.push(`memory ${formatBytes(limits.memoryBytes.value)}, no swap beyond it (from ${limits.memoryBytes.from})`);
  if (limits.pids) lines.push(`pids ${limits.pids.value} (from ${limits.pids.from})`);
  return lines;
}

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const value = Number(text.trim());
  return value > 0 ? value : undefined;
}
