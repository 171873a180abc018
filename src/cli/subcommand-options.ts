import { usageError } from "../core/common/index.js";
import type { ConfigLayer } from "../core/plan/index.js";
import { layerValues, scanArgv } from "./argv-scan.js";
import { ASUSER_OPTIONS, type OptionSpec } from "./option-specs.js";
import { toDockopts, toInteger, toNonEmptyText, toPort } from "./option-values.js";
import {
  type ContainerOptions,
  flag,
  optional,
  type Remote,
  type Runtime,
  readContainerOptions,
  readRemote,
} from "./options.js";
import { SETTING_VALUES } from "./setting-values.js";
import { CLEAN_OPTIONS, DOCTOR_OPTIONS, HOSTLIST_OPTIONS, SSHCONFIG_OPTIONS } from "./subcommand-specs.js";

/** How `asuser` runs its container (run_dock_asuser.sh's modes). */
export type AsuserMode = "interactive" | "daemon" | "noninteractive";
export type Workdir =
  | { readonly kind: "cwd" }
  | { readonly kind: "image" }
  | { readonly kind: "path"; readonly path: string };

export interface AsuserOptions extends Omit<ContainerOptions, "gpuRuntime"> {
  readonly mode: AsuserMode;
  readonly keepalive: boolean;
  readonly entrypoint: string | undefined;
  readonly workdir: Workdir;
  readonly net: string | undefined;
  /** `--dockcmd`, split into words like `--dockopts`. */
  readonly dockcmd: readonly string[];
  readonly bashinit: string | undefined;
  readonly dockindock: boolean;
  readonly userdefault: boolean;
  /** nvidia-docker1 = the legacy `nvidia-docker` wrapper command (`--nvdock1`). */
  readonly gpuRuntime: ContainerOptions["gpuRuntime"] | "nvidia-docker1";
}

export interface SshconfigOptions {
  readonly sshconfigdir: string | undefined;
  readonly sshdPort: number | undefined;
  readonly dryRun: boolean;
  readonly debug: boolean;
}

export type HostlistOp = "expand" | "compress";
export interface HostlistArgs {
  readonly op: HostlistOp;
  readonly args: readonly string[];
  readonly sort: boolean;
}

export interface DoctorOptions {
  readonly container: string | undefined;
  readonly runtime: Runtime;
  readonly remote: Remote;
  readonly sshconfigdir: string | undefined;
  readonly sshdPort: number | undefined;
  readonly slotsPerNode: number | undefined;
  readonly debug: boolean;
}

export interface CleanOptions {
  /** A job's containers; undefined = stale ones (ended jobs), or every one with `all`. */
  readonly job: string | undefined;
  readonly all: boolean;
  readonly runtime: Runtime;
  readonly dryRun: boolean;
  readonly debug: boolean;
}

function scan(
  specs: readonly OptionSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[],
  name: string,
) {
  const result = scanArgv(specs, argv, { passThrough: false, helpCommand: `srun-docker ${name} --help` });
  return { values: layerValues(specs, result.values, env, layers), rest: result.rest };
}

function noOperands(rest: readonly string[], name: string): void {
  if (rest.length > 0) {
    throw usageError(
      `\`srun-docker ${name}\` takes no arguments, got \`${rest.join(" ")}\``,
      `options are written --opt=value; see \`srun-docker ${name} --help\``,
    );
  }
}

const runtimeOf = SETTING_VALUES.runtime;

export function parseAsuserArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): AsuserOptions {
  const { values, rest } = scan(ASUSER_OPTIONS, argv, env, layers, "asuser");
  noOperands(rest, "asuser");
  const daemon = flag(values, "daemon");
  const noninteractive = flag(values, "noninteractive");
  if (daemon && noninteractive) {
    throw usageError(
      "`--daemon` and `--noninteractive` exclude each other",
      "--daemon keeps a container running; --noninteractive runs --dockcmd and removes it",
    );
  }
  const nvdock1 = flag(values, "nvdock1");
  if (nvdock1 && flag(values, "nvdock2"))
    throw usageError("`--nvdock1` and `--nvdock2` exclude each other", "keep one of them");
  const base = readContainerOptions(values);
  const workdir = optional(values, "workdir", toNonEmptyText);
  return {
    ...base,
    gpuRuntime: nvdock1 ? "nvidia-docker1" : base.gpuRuntime,
    mode: daemon ? "daemon" : noninteractive ? "noninteractive" : "interactive",
    keepalive: flag(values, "keepalive"),
    entrypoint: optional(values, "entrypoint", toNonEmptyText),
    workdir:
      workdir === undefined
        ? { kind: "cwd" }
        : workdir === "default"
          ? { kind: "image" }
          : { kind: "path", path: workdir },
    net: optional(values, "net", toNonEmptyText),
    dockcmd: optional(values, "dockcmd", toDockopts) ?? [],
    bashinit: optional(values, "bashinit", toNonEmptyText),
    dockindock: flag(values, "dockindock"),
    userdefault: flag(values, "userdefault"),
  };
}

export function parseSshconfigArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): SshconfigOptions {
  const { values, rest } = scan(SSHCONFIG_OPTIONS, argv, env, layers, "sshconfig");
  noOperands(rest, "sshconfig");
  return {
    sshconfigdir: optional(values, "sshconfigdir", SETTING_VALUES.sshconfigdir),
    sshdPort: optional(values, "sshdport", toPort),
    dryRun: flag(values, "dry-run"),
    debug: flag(values, "debug"),
  };
}

export function parseHostlistArgs(argv: readonly string[], env: NodeJS.ProcessEnv): HostlistArgs {
  const { values, rest } = scan(HOSTLIST_OPTIONS, argv, env, [], "hostlist");
  const [op, ...args] = rest;
  const hint = "use `srun-docker hostlist expand 'node[1-3]'` or `srun-docker hostlist compress node1 node2`";
  if (op !== "expand" && op !== "compress") {
    throw usageError(`\`srun-docker hostlist\` expects \`expand\` or \`compress\`, got \`${op ?? ""}\``, hint);
  }
  if (args.length === 0) throw usageError(`\`srun-docker hostlist ${op}\` needs at least one argument`, hint);
  return { op, args, sort: flag(values, "sort") };
}

export function parseDoctorArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): DoctorOptions {
  const { values, rest } = scan(DOCTOR_OPTIONS, argv, env, layers, "doctor");
  noOperands(rest, "doctor");
  const sshconfigdir = optional(values, "sshconfigdir", SETTING_VALUES.sshconfigdir);
  const sshdPort = optional(values, "sshdport", toPort);
  return {
    container: optional(values, "container", SETTING_VALUES.container),
    runtime: optional(values, "runtime", runtimeOf) ?? "docker",
    remote: readRemote(values, sshconfigdir, sshdPort),
    sshconfigdir,
    sshdPort,
    slotsPerNode: optional(values, "slots-per-node", (raw) => toInteger(raw, 1, 4096)),
    debug: flag(values, "debug"),
  };
}

export function parseCleanArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): CleanOptions {
  const { values, rest } = scan(CLEAN_OPTIONS, argv, env, layers, "clean");
  noOperands(rest, "clean");
  const all = flag(values, "all");
  const explicitJob = optional(values, "job", toNonEmptyText);
  if (all && explicitJob !== undefined) throw usageError("`--job` and `--all` exclude each other", "keep one of them");
  // Without --job or --all: the user's containers whose Slurm job has ended. SLURM_JOB_ID is
  // deliberately not the default: `srun srun-docker clean` runs inside a job of its own.
  return {
    job: explicitJob,
    all,
    runtime: optional(values, "runtime", runtimeOf) ?? "docker",
    dryRun: flag(values, "dry-run"),
    debug: flag(values, "debug"),
  };
}
