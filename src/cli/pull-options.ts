/**
 * The image-pull options: `--pull`, `--pull-once`, `--pull-timeout` (the run's and
 * `srun-docker pull`'s) and `--image-per-node` (the run's alone, last), as specs and as read into
 * RunOptions.pull. Their types, which core's plans speak too, are in core/image/pull-options.ts.
 */
import { usageError } from "../core/common/index.js";
import { DEFAULT_PULL_TIMEOUT_SECONDS, type PullOptions } from "../core/image/index.js";
import type { LayeredValues, OptionSpec } from "./argv-scan.js";
import { SETTING_VALUES } from "./setting-values.js";

export const PULL_OPTIONS: readonly [OptionSpec, OptionSpec, OptionSpec, OptionSpec] = [
  {
    name: "pull",
    value: "<missing|always|never>",
    choices: ["missing", "always", "never"],
    description:
      "missing: use what the master has, else pull the registry's digest for the tag on every node; always: ask the registry each time; never: only what every node has (default: missing)",
    configurable: true,
  },
  {
    name: "pull-once",
    description:
      "only the first node pulls from the registry; the others get the image from the nodes that have it (docker save/load, relayed in a tree)",
    configurable: true,
  },
  {
    name: "pull-timeout",
    value: "<seconds>",
    description: "fail if the pull is not done within this time; not counted in --timeout (default: 1800)",
    configurable: true,
  },
  {
    name: "image-per-node",
    description:
      "a node that has its own image under --container's name runs it, whatever its ID (as the reference scripts did, e.g. after `srun docker build -t app .`); the others get the first node's. Risky: nodes may run different code",
    configurable: true,
  },
];

/** `--pull`, `--pull-once`, `--pull-timeout`, `--image-per-node` from the layered values (CLI > env > config files). */
export function readPullOptions(values: LayeredValues): PullOptions {
  const policyRaw = values.get("pull");
  const onceRaw = values.get("pull-once");
  const timeoutRaw = values.get("pull-timeout");
  const policy = policyRaw === undefined ? "missing" : SETTING_VALUES.pull(policyRaw);
  const once = onceRaw === undefined ? false : SETTING_VALUES["pull-once"](onceRaw);
  if (once && policy === "never") {
    throw usageError(
      `\`--pull-once\` and \`--pull=never\` contradict each other${origins(onceRaw, policyRaw)}`,
      "keep one of them: --pull=never runs only what every node has already",
    );
  }
  const perNodeRaw = values.get("image-per-node");
  const perNode = perNodeRaw === undefined ? false : SETTING_VALUES["image-per-node"](perNodeRaw);
  if (perNode && (once || policy === "always")) {
    const other = once ? onceRaw : policyRaw;
    const otherName = once ? "--pull-once" : "--pull=always";
    throw usageError(
      `\`--image-per-node\` and \`${otherName}\` contradict each other${origins(perNodeRaw, other)}`,
      once
        ? "keep one of them: --pull-once gives every node the first node's build, --image-per-node runs each node's own"
        : "keep one of them: --pull=always runs the registry's image everywhere, --image-per-node each node's own",
    );
  }
  return {
    policy,
    once,
    timeoutSeconds:
      timeoutRaw === undefined ? DEFAULT_PULL_TIMEOUT_SECONDS : SETTING_VALUES["pull-timeout"](timeoutRaw),
    perNode,
  };
}

/** ` (from X and Y)` when a setting came from the environment or a config file, else nothing. */
function origins(...raws: readonly ({ origin: string } | undefined)[]): string {
  const from = raws.map((raw) => raw?.origin ?? "");
  return from.every((origin) => origin.startsWith("`--")) ? "" : ` (from ${from.join(" and ")})`;
}
