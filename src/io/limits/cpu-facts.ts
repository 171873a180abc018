// The CPUs this process may use, as Slurm bound it, and the node's online CPU count: the facts
// core/limits/container-limits.ts turns into `--cpuset-cpus` or `--cpus`.
import { access, readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { boundCpuList } from "../../core/plan/index.js";

export interface CpuFacts {
  /** `Cpus_allowed_list` when narrower than the node; undefined when every CPU is allowed. */
  readonly boundCpus: string | undefined;
  readonly onlineCpus: number;
  /** The unified hierarchy (cgroup v2) is mounted: rootless engines can delegate limits. */
  readonly cgroupV2: boolean;
}

export async function readCpuFacts(): Promise<CpuFacts> {
  // os.cpus() lists the node's CPUs whatever our affinity (availableParallelism would not).
  const onlineCpus = cpus().length;
  const status = await readFile("/proc/self/status", "utf8").catch(() => "");
  const cgroupV2 = await access("/sys/fs/cgroup/cgroup.controllers").then(
    () => true,
    () => false,
  );
  return { boundCpus: boundCpuList(status, onlineCpus), onlineCpus, cgroupV2 };
}
