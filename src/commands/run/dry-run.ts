// `--dry-run`: the run's plan (planNode, fed the same facts where reading them changes nothing),
// printed as the commands a user would otherwise run. The ports are drawn from the user's secret
// as the run draws them; before the first run made it, from a stand-in, and the dry run says so.
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import { dryRunStandIns, planNode, renderDryRun } from "../../core/plan/index.js";
import type { JobPorts } from "../../core/ports/index.js";
import type { JobContext } from "../../core/slurm/index.js";
import { readSecretIfMade, SECRET_BYTES } from "../../io/ssh/index.js";
import { firstJobPorts } from "./job-ports.js";
import { countGpusIfUnknown, type RunDeps } from "./run-deps.js";

/** The dry run plans through planNode like the run, from the same facts where reading them changes nothing. */
export async function printDryRun(options: RunOptions, ctx: JobContext, deps: RunDeps): Promise<number> {
  const [identity, nvidiaSmiGpus, cpus, drawn] = await Promise.all([
    deps.readIdentity(),
    countGpusIfUnknown(options, deps),
    deps.readCpus(),
    dryRunPorts(options, ctx, deps.materialDir),
  ]);
  const plan = planNode({
    options,
    ctx,
    env: deps.env,
    nvidiaSmiGpus,
    identity,
    ...dryRunStandIns(deps.materialDir),
    agentProgram: deps.agentProgram(),
    scriptPath: path.resolve(deps.cwd, options.script),
    cwd: deps.cwd,
    cpus,
    ports: drawn.ports,
  });
  deps.stdout.write(renderDryRun(options, ctx, plan, drawn.standIn));
  return 0;
}

/**
 * The first candidate of each kind, as a run finds them when nothing is taken; `standIn` when the
 * secret they are drawn from is not made yet (the dry run never makes it).
 */
export async function dryRunPorts(
  options: Pick<RunOptions, "sshdPort" | "rendezvousPort">,
  ctx: Pick<JobContext, "jobId" | "stepId" | "restartCount">,
  materialDir: string,
): Promise<{ ports: JobPorts; standIn: boolean }> {
  const secret = await readSecretIfMade(materialDir);
  return { ports: firstJobPorts(options, ctx, secret ?? Buffer.alloc(SECRET_BYTES)), standIn: secret === undefined };
}
