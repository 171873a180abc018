// `srun-docker clean`: removes srun-docker containers on this node that no job needs.
//   clean             this user's containers whose Slurm job has ended (stale)
//   clean --job ID    every container of job ID (all users' when run as root: the Epilog)
//   clean --all       every srun-docker container of this user

import { hostname } from "node:os";
import type { CleanOptions } from "../cli/subcommand-options.js";
import { selectLabels, TOOL_LABEL } from "../core/engine/index.js";
import { ContainerRuntime, findStaleContainers } from "../io/container/index.js";

export async function runClean(
  options: CleanOptions,
  uid = process.getuid?.() ?? 0,
  out = process.stdout,
): Promise<number> {
  const runtime = new ContainerRuntime(options.runtime, hostname());
  const labels: Record<string, string> =
    uid === 0 && options.job !== undefined
      ? { [TOOL_LABEL]: "1", [`${TOOL_LABEL}.job`]: options.job }
      : selectLabels({ uid, jobId: options.job });
  const found = await runtime.list(labels);
  const doomed = options.job !== undefined || options.all ? found : await findStaleContainers(found);
  for (const c of doomed)
    out.write(
      `${options.dryRun ? "would remove" : "removing"} ${c.name} (job ${c.labels[`${TOOL_LABEL}.job`] ?? "?"})\n`,
    );
  if (options.dryRun) return 0;
  // The Epilog runs this: a container it could not remove must not pass in silence.
  const failures = await runtime.removeEach(doomed.map((c) => c.name));
  if (failures.length > 0) throw runtime.removalError(failures);
  return 0;
}
