import type { GpuMode, GpuRuntime } from "../common/index.js";

/**
 * Which GPUs a node's container gets and how many slots (ranks) the node runs.
 *
 * Device ids must be the node's physical ids, because the docker daemon runs outside the job's
 * cgroup: Slurm's SLURM_STEP_GPUS / SLURM_JOB_GPUS hold those, whereas CUDA_VISIBLE_DEVICES
 * may be renumbered inside the job, so it only comes after them. NV_GPU, nvidia-docker's own
 * variable, wins as the reference documented — except with --privileged, which exposes every
 * GPU anyway (the reference's note: mask with CUDA_VISIBLE_DEVICES instead).
 */
export interface GpuRequest {
  readonly mode: GpuMode;
  readonly privileged: boolean;
  /** `--slots_per_node`; when set it wins over the GPU count. */
  readonly slotsPerNode: number | undefined;
}

export interface GpuPlan {
  /** GPUs to pass to the container: ids, every GPU, or none. */
  readonly deviceIds: readonly string[] | "all";
  readonly slots: number;
  readonly warnings: readonly string[];
}

export function resolveGpus(request: GpuRequest, env: NodeJS.ProcessEnv, nvidiaSmiCount?: number): GpuPlan {
  const warnings: string[] = [];
  const deviceIds = selectDevices(request, env, nvidiaSmiCount, warnings);
  const counted = request.mode.kind === "none" ? undefined : countGpus(deviceIds, env, nvidiaSmiCount);
  let slots = request.slotsPerNode ?? counted;
  if (slots === undefined || slots < 1) {
    slots = 1;
    if (request.mode.kind !== "none") {
      warnings.push("no GPUs found on this node; running 1 slot per node (set --slots_per_node to change it)");
    }
  }
  return { deviceIds, slots, warnings };
}

function selectDevices(
  request: GpuRequest,
  env: NodeJS.ProcessEnv,
  nvidiaSmiCount: number | undefined,
  warnings: string[],
): readonly string[] | "all" {
  const { mode, privileged } = request;
  if (privileged && mode.kind !== "none") {
    warnings.push(
      "--privileged exposes every GPU of the node to the container; NV_GPU is ignored, use CUDA_VISIBLE_DEVICES to mask",
    );
  }
  switch (mode.kind) {
    case "none":
      return [];
    case "all":
      return "all";
    case "list":
      return mode.ids;
    case "auto": {
      const fromEnv = (privileged ? [] : [env.NV_GPU]).concat(
        env.SLURM_STEP_GPUS,
        env.SLURM_JOB_GPUS,
        env.CUDA_VISIBLE_DEVICES,
      );
      for (const value of fromEnv) {
        const ids = parseIdList(value);
        if (ids !== undefined) return ids;
      }
      return nvidiaSmiCount !== undefined && nvidiaSmiCount > 0 ? "all" : [];
    }
  }
}

/** `0,1`, `GPU-…` UUIDs, or Slurm's `NoDevFiles` (no GPUs); undefined when unset or empty. */
function parseIdList(value: string | undefined): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const ids = value
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  if (ids.length === 0) return undefined;
  return ids.some((id) => id === "NoDevFiles") ? [] : ids;
}

function countGpus(
  deviceIds: readonly string[] | "all",
  env: NodeJS.ProcessEnv,
  nvidiaSmiCount: number | undefined,
): number | undefined {
  if (deviceIds !== "all") return deviceIds.length > 0 ? deviceIds.length : fromSlurm(env);
  return fromSlurm(env) ?? nvidiaSmiCount;
}

function fromSlurm(env: NodeJS.ProcessEnv): number | undefined {
  const count = Number(env.SLURM_GPUS_ON_NODE);
  return env.SLURM_GPUS_ON_NODE !== undefined && Number.isInteger(count) && count > 0 ? count : undefined;
}

/**
 * With docker's `--gpus` the hook sees the devices, but `docker exec` (the job script) would
 * not: say which GPUs the container got, as the reference and nvidia-docker2 do. The nvidia
 * runtime path sets it already.
 */
export function visibleDevicesEnv(gpus: GpuPlan, runtime: GpuRuntime): Record<string, string> {
  const { deviceIds } = gpus;
  if (runtime !== "docker" || (deviceIds !== "all" && deviceIds.length === 0)) return {};
  return { NVIDIA_VISIBLE_DEVICES: deviceIds === "all" ? "all" : deviceIds.join(",") };
}

/** nvidia-smi is asked only when the options, Slurm and the environment say nothing about GPUs. */
export function shouldCountGpus(options: { readonly gpus: GpuMode }, env: NodeJS.ProcessEnv): boolean {
  if (options.gpus.kind !== "auto") return false;
  return !(
    env.SLURM_GPUS_ON_NODE ||
    env.CUDA_VISIBLE_DEVICES ||
    env.NV_GPU ||
    env.SLURM_STEP_GPUS ||
    env.SLURM_JOB_GPUS
  );
}
