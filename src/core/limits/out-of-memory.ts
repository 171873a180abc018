// The one line a node says when the kernel killed its job for memory (exit 137, as the kernel's
// SIGKILL gives), naming the limit and where it came from, so the fix is obvious.

import { UserError } from "../common/index.js";
import { type ContainerLimits, formatBytes, optionNames } from "./container-limits.js";

export const EXIT_OUT_OF_MEMORY = 137;

export function outOfMemoryError(node: string, limits: ContainerLimits, dockopts: readonly string[]): UserError {
  return new UserError(
    "out-of-memory",
    `${node}: the job ran out of memory (${describeMemoryLimit(limits, dockopts)})`,
    {
      hint: "ask Slurm for more (--mem, --mem-per-cpu, --mem-per-gpu), or make the job use less",
      exitCode: EXIT_OUT_OF_MEMORY,
    },
  );
}

/** Which memory limit the kernel enforced, and where it came from. */
export function describeMemoryLimit(limits: ContainerLimits, dockopts: readonly string[]): string {
  const own = optionNames(dockopts);
  if (own.has("--memory") || own.has("-m")) return "limit from your --dockopts";
  if (limits.memoryBytes !== undefined)
    return `limit ${formatBytes(limits.memoryBytes.value)} from ${limits.memoryBytes.from}`;
  return "no container limit: the node itself ran out";
}
