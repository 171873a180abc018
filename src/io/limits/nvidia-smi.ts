// How many GPUs this node has, by `nvidia-smi -L`; undefined where there is no nvidia-smi
// or it fails (a node without GPUs or drivers).
import { UserError } from "../../core/common/index.js";
import { runCommand } from "../process/index.js";

export async function countNodeGpus(run = runCommand): Promise<number | undefined> {
  try {
    const r = await run("nvidia-smi", ["-L"], { timeoutMs: 10_000 });
    if (r.exitCode !== 0) return undefined;
    return r.stdout.split("\n").filter((l) => l.startsWith("GPU ")).length;
  } catch (error) {
    if (error instanceof UserError) return undefined;
    throw error;
  }
}
