// `srun-docker hostlist expand|compress`: Slurm's hostlist syntax without scontrol, e.g. on
// a login node or inside a container.

import type { HostlistOp } from "../cli/subcommand-options.js";
import { compressHostlist, expandHostlist } from "../core/hostlist/index.js";

export function runHostlist(op: HostlistOp, args: readonly string[], sort: boolean, out = process.stdout): number {
  if (op === "expand") {
    for (const expr of args) for (const name of expandHostlist(expr)) out.write(`${name}\n`);
    return 0;
  }
  const names = args.flatMap((a) => a.split(/[\s,]+/)).filter(Boolean);
  out.write(`${compressHostlist(names, { sort })}\n`);
  return 0;
}
