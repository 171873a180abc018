/** `srun-docker exec [--jobid=J] [--step=S] [-- COMMAND...]`: which job, which step, what to run. */

import { usageError } from "../core/common/index.js";
import type { ConfigLayer } from "../core/plan/index.js";
import { layerValues, scanArgv } from "./argv-scan.js";
import { toNonEmptyText } from "./option-values.js";
import { flag, optional, type Runtime } from "./options.js";
import { SETTING_VALUES } from "./setting-values.js";
import { EXEC_OPTIONS } from "./subcommand-specs.js";

export interface ExecOptions {
  readonly jobId: string;
  readonly stepId: string | undefined;
  /** The words after `--`; empty: a shell. */
  readonly command: readonly string[];
  readonly runtime: Runtime;
  readonly debug: boolean;
}

export function parseExecArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): ExecOptions {
  const scan = scanArgv(EXEC_OPTIONS, argv, { passThrough: false, helpCommand: "srun-docker exec --help" });
  const values = layerValues(EXEC_OPTIONS, scan.values, env, layers);
  const jobId = optional(values, "jobid", toNonEmptyText) ?? nonEmpty(env.SLURM_JOB_ID);
  if (jobId === undefined) {
    throw usageError(
      "`srun-docker exec` needs a job: it is not in one, and `--jobid` is not given",
      "srun --jobid=JOB --overlap -w NODE --pty srun-docker exec, or add --jobid=JOB",
    );
  }
  if (!/^\d+$/.test(jobId))
    throw usageError(`\`--jobid\` is \`${jobId}\`, not a job id`, "give a number, e.g. --jobid=42");
  return {
    jobId,
    stepId: optional(values, "step", toNonEmptyText),
    command: scan.rest,
    runtime: optional(values, "runtime", SETTING_VALUES.runtime) ?? "docker",
    debug: flag(values, "debug"),
  };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}
