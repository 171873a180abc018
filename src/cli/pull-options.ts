import { usageError } from "../core/errors.js";
import { DEFAULT_PULL_TIMEOUT_SECONDS, type PullOptions } from "../core/pull-options.js";
import type { LayeredValues } from "./argv-scan.js";
import { SETTING_VALUES } from "./setting-values.js";

/** `--pull`, `--pull-once`, `--pull-timeout` from the layered values (CLI > env > config files). */
export function readPullOptions(values: LayeredValues): PullOptions {
  const policyRaw = values.get("pull");
  const onceRaw = values.get("pull-once");
  const timeoutRaw = values.get("pull-timeout");
  const policy = policyRaw === undefined ? "missing" : SETTING_VALUES.pull(policyRaw);
  const once = onceRaw === undefined ? false : SETTING_VALUES["pull-once"](onceRaw);
  if (once && policy === "never") {
    const origins = [onceRaw?.origin ?? "", policyRaw?.origin ?? ""];
    const where = origins.every((origin) => origin.startsWith("`--")) ? "" : ` (from ${origins.join(" and ")})`;
    throw usageError(
      `\`--pull-once\` and \`--pull=never\` contradict each other${where}`,
      "keep one of them: --pull=never runs only what every node has already",
    );
  }
  return {
    policy,
    once,
    timeoutSeconds:
      timeoutRaw === undefined ? DEFAULT_PULL_TIMEOUT_SECONDS : SETTING_VALUES["pull-timeout"](timeoutRaw),
  };
}
