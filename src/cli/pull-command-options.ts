import type { Runtime } from "../core/common/index.js";
import { usageError } from "../core/common/index.js";
import type { PullOptions } from "../core/image/index.js";
import type { ConfigLayer } from "../core/plan/index.js";
import { layerValues, scanArgv } from "./argv-scan.js";
import { toPort } from "./option-values.js";
import { DEFAULT_TIMEOUT_SECONDS, flag, optional } from "./options.js";
import { readPullOptions } from "./pull-options.js";
import { SETTING_VALUES } from "./setting-values.js";
import { PULL_COMMAND_OPTIONS } from "./subcommand-specs.js";

/** `srun-docker pull IMAGE`: stage the image on every node of the step, run nothing. */
export interface PullCommandOptions {
  /** As the user wrote it (`--container`'s forms: a registry reference or an image ID). */
  readonly image: string;
  readonly pull: PullOptions;
  readonly runtime: Runtime;
  /** How long the nodes have to join; pulls do not count. */
  readonly timeoutSeconds: number;
  readonly rendezvousPort: number | undefined;
  readonly debug: boolean;
}

const EXAMPLE = "srun -N 4 srun-docker pull REGISTRY/IMAGE:TAG";

export function parsePullCommandArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): PullCommandOptions {
  const scan = scanArgv(PULL_COMMAND_OPTIONS, argv, { passThrough: false, helpCommand: "srun-docker pull --help" });
  const values = layerValues(PULL_COMMAND_OPTIONS, scan.values, env, layers);
  const [image, ...extra] = scan.rest;
  if (image === undefined || image === "") throw usageError("`srun-docker pull` needs the image", `e.g. ${EXAMPLE}`);
  if (extra.length > 0)
    throw usageError(
      `\`srun-docker pull\` takes one image, got \`${scan.rest.join(" ")}\``,
      `stage one image per step: ${EXAMPLE}`,
    );
  const pull = readPullOptions(values);
  if (pull.policy === "never")
    throw usageError(
      "`srun-docker pull --pull=never` would pull nothing",
      "use --pull=missing (the default) to fetch it where it is missing, or --pull=always",
    );
  return {
    image,
    pull,
    runtime: optional(values, "runtime", SETTING_VALUES.runtime) ?? "docker",
    timeoutSeconds: optional(values, "timeout", SETTING_VALUES.timeout) ?? DEFAULT_TIMEOUT_SECONDS,
    rendezvousPort: optional(values, "rendezvous-port", toPort),
    debug: flag(values, "debug"),
  };
}
