/**
 * One converter for each option that config files and `SRUN_DOCKER_*` may set: the run, the
 * subcommands and `srun-docker config` all read a setting through it, so `config` rejects, with
 * the same line, a value the run would reject.
 */

import { MAX_PULL_TIMEOUT_SECONDS, PULL_POLICIES } from "../core/image/index.js";
import type { LayeredValues } from "./argv-scan.js";
import {
  type RawValue,
  toDockopts,
  toEnum,
  toEnvNames,
  toFlag,
  toGpuMode,
  toInteger,
  toMemlock,
  toMountPaths,
  toNonEmptyText,
  toPidsLimit,
  toShmSize,
} from "./option-values.js";

export const SETTING_VALUES = {
  container: toNonEmptyText,
  datamnts: toMountPaths,
  dockopts: toDockopts,
  ibdevices: toFlag,
  envlist: toEnvNames,
  gpus: toGpuMode,
  "gpu-runtime": (raw: RawValue) => toEnum(raw, ["docker", "nvidia"] as const),
  runtime: (raw: RawValue) => toEnum(raw, ["docker", "podman"] as const),
  memlock: toMemlock,
  "shm-size": toShmSize,
  sshconfigdir: toNonEmptyText,
  timeout: (raw: RawValue) => toInteger(raw, 1, 86_400),
  launcher: (raw: RawValue) => toEnum(raw, ["ssh", "each", "srun"] as const),
  remote: (raw: RawValue) => toEnum(raw, ["agent", "sshd"] as const),
  limits: (raw: RawValue) => toEnum(raw, ["slurm", "none"] as const),
  "pids-limit": toPidsLimit,
  pull: (raw: RawValue) => toEnum(raw, PULL_POLICIES),
  "pull-once": toFlag,
  "image-per-node": toFlag,
  "pull-timeout": (raw: RawValue) => toInteger(raw, 1, MAX_PULL_TIMEOUT_SECONDS),
} satisfies Readonly<Record<string, (raw: RawValue) => unknown>>;

/** Reads every setting in `names` that has a value through its converter: the first bad one throws. */
export function checkSettings(values: LayeredValues, names: readonly string[]): void {
  const converters: Readonly<Record<string, (raw: RawValue) => unknown>> = SETTING_VALUES;
  for (const name of names) {
    const convert = converters[name];
    if (convert === undefined) throw new Error(`internal error: no converter for the setting ${name}; please report`);
    const raw = values.get(name);
    if (raw !== undefined) convert(raw);
  }
}
