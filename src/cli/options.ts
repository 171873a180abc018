import type { GpuMode, GpuRuntime, Memlock, Remote, Runtime } from "../core/common/index.js";
import { describeNearMiss, findNearMisses, type NearMiss, usageError } from "../core/common/index.js";
import type { ContainerShape } from "../core/engine/index.js";
import type { PullOptions } from "../core/image/index.js";
import { CONTAINER_NAME_RE, SAVE_ARCHIVE_RE } from "../core/job-container/index.js";
import type { LimitsMode, PidsLimit } from "../core/limits/index.js";
import type { ConfigLayer } from "../core/plan/index.js";
import { type LayeredValues, layerValues, type OptionSource, scanArgv } from "./argv-scan.js";
import { RUN_OPTIONS } from "./option-specs.js";
import { type RawValue, toFlag, toHostlist, toInteger, toNonEmptyText, toPort } from "./option-values.js";
import { readPullOptions } from "./pull-options.js";
import { mapPyxisTwins, readContainerShape } from "./pyxis-options.js";
import { SETTING_VALUES as SETTING } from "./setting-values.js";

export type { GpuMode, GpuRuntime, Memlock, Remote, Runtime } from "../core/common/index.js";
export type Launcher = "ssh" | "each" | "srun";

/** Options shared by the orchestrator and `asuser`: how one container is started. */
export interface ContainerOptions {
  readonly container: string;
  readonly dockname: string | undefined;
  readonly datamnts: readonly string[];
  readonly dockopts: readonly string[];
  readonly privileged: boolean;
  readonly ibdevices: boolean;
  readonly envlist: readonly string[];
  readonly gpus: GpuMode;
  readonly gpuRuntime: GpuRuntime;
  readonly runtime: Runtime;
  readonly memlock: Memlock;
  readonly shmSize: string;
  readonly dryRun: boolean;
  readonly debug: boolean;
}

export interface RunOptions extends ContainerOptions {
  readonly script: string;
  /** Pass-through arguments for the script, verbatim; `--help` appended for `--script_help`. */
  readonly scriptArgs: readonly string[];
  /**
   * `--launcher=srun` without `--script`: the program each task runs (the words after `--`),
   * found on the container's PATH, not in the current directory.
   */
  readonly program: readonly string[] | undefined;
  readonly slotsPerNode: number | undefined;
  /** `--nodelist`, expanded. */
  readonly nodelist: readonly string[] | undefined;
  readonly nodeRank: number | undefined;
  /** Old mode: the user's own sshd config dir; undefined = generated per-user material. */
  readonly sshconfigdir: string | undefined;
  readonly sshdPort: number | undefined;
  readonly rendezvousPort: number | undefined;
  readonly scriptHelp: boolean;
  readonly timeoutSeconds: number;
  readonly launcher: Launcher;
  readonly remote: Remote;
  /** `--limits`: whether the container is held to what Slurm allocated on the node. */
  readonly limits: LimitsMode;
  readonly pidsLimit: PidsLimit;
  /** `--pull`, `--pull-once`, `--pull-timeout`. */
  readonly pull: PullOptions;
  /** Pyxis's options that the reference has no twin for: mounts, workdir, home, root, entrypoint, read-only. */
  readonly shape: ContainerShape;
  /** `--container-name`: the job's named container (core/job-container/named-container.ts). */
  readonly containerName: string | undefined;
  /** `--container-save`: where the first node's container is saved after the step, as given. */
  readonly containerSave: string | undefined;
  /** Where each option's value came from (for `srun-docker config` and `--debug`). */
  readonly sources: ReadonlyMap<string, OptionSource>;
  /** What the master says before the run, once (a likely typo that goes to the script). */
  readonly warnings: readonly string[];
}

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const DEFAULT_SHM_SIZE = "1g";

/** Reads one layered value through a converter, or undefined when not given anywhere. */
export function optional<T>(values: LayeredValues, name: string, convert: (raw: RawValue) => T): T | undefined {
  const raw = values.get(name);
  return raw === undefined ? undefined : convert(raw);
}

export function flag(values: LayeredValues, name: string): boolean {
  return optional(values, name, toFlag) ?? false;
}

export function required(values: LayeredValues, name: string, example: string): string {
  const value = optional(values, name, toNonEmptyText);
  if (value === undefined) throw usageError(`\`--${name}\` is required`, `add ${example}`);
  return value;
}

/** The container options both the orchestrator and `asuser` take. */
export function readContainerOptions(values: LayeredValues): ContainerOptions {
  const nvdock2 = flag(values, "nvdock2");
  const gpuRuntime = optional(values, "gpu-runtime", SETTING["gpu-runtime"]);
  if (nvdock2 && gpuRuntime === "docker") {
    throw usageError("`--nvdock2` and `--gpu-runtime=docker` contradict each other", "keep one of them");
  }
  return {
    container: required(values, "container", "--container=IMAGE, e.g. --container=ubuntu:22.04"),
    dockname: optional(values, "dockname", toNonEmptyText),
    datamnts: optional(values, "datamnts", SETTING.datamnts) ?? [],
    dockopts: optional(values, "dockopts", SETTING.dockopts) ?? [],
    privileged: flag(values, "privileged"),
    ibdevices: optional(values, "ibdevices", SETTING.ibdevices) ?? false,
    envlist: optional(values, "envlist", SETTING.envlist) ?? [],
    gpus: optional(values, "gpus", SETTING.gpus) ?? { kind: "auto" },
    gpuRuntime: nvdock2 ? "nvidia" : (gpuRuntime ?? "docker"),
    runtime: optional(values, "runtime", SETTING.runtime) ?? "docker",
    memlock: optional(values, "memlock", SETTING.memlock) ?? { kind: "unlimited" },
    shmSize: optional(values, "shm-size", SETTING["shm-size"]) ?? DEFAULT_SHM_SIZE,
    dryRun: flag(values, "dry-run"),
    debug: flag(values, "debug"),
  };
}

/**
 * The orchestrator's options (`srun-docker [options] [-- script args]`). Pure: checks only
 * what argv and env say; whether the script exists is the command's business.
 */
export function parseRunArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): RunOptions {
  const scan = scanArgv(RUN_OPTIONS, argv, { passThrough: true, helpCommand: "srun-docker --help" });
  const values = mapPyxisTwins(layerValues(RUN_OPTIONS, scan.values, env, layers));
  const misses = findNearMisses(scan.unknownOptions);
  requireOrSuggest(values, "container", misses);
  const base = readContainerOptions(values);
  const shape = readContainerShape(values, base.runtime);
  const given = optional(values, "launcher", SETTING.launcher);
  const shell = wantsShell(values, given, scan.rest, env);
  const pyxis = pyxisForm(values);
  const launcher = shell || pyxis ? "srun" : (given ?? "ssh");
  const program = shell
    ? INTERACTIVE_SHELL
    : launcher === "srun" && values.get("script") === undefined
      ? readProgram(scan.rest, pyxis ? "--container-image" : "--launcher=srun")
      : undefined;
  if (program === undefined) requireOrSuggest(values, "script", misses);
  const script = program?.[0] ?? required(values, "script", "--script=PATH, e.g. --script=./job.sh");
  const scriptHelp = flag(values, "script-help");
  const { nodelist, nodeRank } = readNodelist(values);
  const { sshdPort, rendezvousPort } = readPorts(values);
  const sshconfigdir = optional(values, "sshconfigdir", SETTING.sshconfigdir);
  const pull = readPullOptions(values);
  const kept = readKeptContainer(values, launcher);
  return {
    ...kept,
    ...base,
    script,
    scriptArgs: program !== undefined ? program.slice(1) : scriptHelp ? [...scan.rest, "--help"] : [...scan.rest],
    program,
    slotsPerNode: optional(values, "slots-per-node", (raw) => toInteger(raw, 1, 4096)),
    nodelist,
    nodeRank,
    sshconfigdir,
    sshdPort,
    rendezvousPort,
    scriptHelp,
    timeoutSeconds: optional(values, "timeout", SETTING.timeout) ?? DEFAULT_TIMEOUT_SECONDS,
    launcher,
    remote: readRemote(values, sshconfigdir, sshdPort),
    limits: optional(values, "limits", SETTING.limits) ?? "slurm",
    pidsLimit: optional(values, "pids-limit", SETTING["pids-limit"]) ?? { kind: "default" },
    pull,
    shape,
    sources: values.sources,
    warnings: [...misses.map(describeNearMiss), ...(launcher === "srun" && pull.once ? [SRUN_PULL_ONCE_WARNING] : [])],
  };
}

/** `--nodelist` and `--node-rank`, for a run outside Slurm: the rank must name one of the nodes. */
function readNodelist(values: LayeredValues): Pick<RunOptions, "nodelist" | "nodeRank"> {
  const nodelist = optional(values, "nodelist", toHostlist);
  const nodeRank = optional(values, "node-rank", (raw) => toInteger(raw, 0));
  if (nodeRank !== undefined && nodelist !== undefined && nodeRank >= nodelist.length) {
    throw usageError(
      `\`--node-rank\` is ${nodeRank} but \`--nodelist\` has ${nodelist.length} node(s)`,
      `give a rank from 0 to ${nodelist.length - 1}`,
    );
  }
  if (nodeRank !== undefined && nodelist === undefined) {
    throw usageError(
      "`--node-rank` needs `--nodelist`",
      "add --nodelist=HOSTLIST naming every node of the run, in rank order",
    );
  }
  return { nodelist, nodeRank };
}

/** `--container-name` and `--container-save`: what outlives the step, with the srun launcher. */
function readKeptContainer(
  values: LayeredValues,
  launcher: Launcher,
): Pick<RunOptions, "containerName" | "containerSave"> {
  const containerName = optional(values, "container-name", toNonEmptyText);
  const containerSave = optional(values, "container-save", toNonEmptyText);
  if (containerName !== undefined && !CONTAINER_NAME_RE.test(containerName)) {
    throw usageError(
      `\`--container-name=${containerName}\` is not a name`,
      "use letters, digits, _ and - (at most 63), starting with a letter or digit",
    );
  }
  if (containerSave !== undefined && !SAVE_ARCHIVE_RE.test(containerSave)) {
    throw usageError(
      `\`--container-save=${containerSave}\` must name a .tar file`,
      "e.g. --container-save=$HOME/saved.tar; --container=$HOME/saved.tar starts from it",
    );
  }
  const given =
    containerName !== undefined ? "--container-name" : containerSave !== undefined ? "--container-save" : undefined;
  if (given !== undefined && launcher !== "srun") {
    throw usageError(
      `\`${given}\` needs --launcher=srun (this run's launcher is ${launcher})`,
      `srun srun-docker --launcher=srun --container=IMG ${given}=... -- PROGRAM`,
    );
  }
  return { containerName, containerSave };
}

/** `--sshdport` and `--rendezvous-port`: two services cannot share one port. */
function readPorts(values: LayeredValues): Pick<RunOptions, "sshdPort" | "rendezvousPort"> {
  const sshdPort = optional(values, "sshdport", toPort);
  const rendezvousPort = optional(values, "rendezvous-port", toPort);
  if (sshdPort !== undefined && sshdPort === rendezvousPort) {
    throw usageError(
      `\`--sshdport\` and \`--rendezvous-port\` are both ${sshdPort}`,
      "give them different ports, or leave one out",
    );
  }
  return { sshdPort, rendezvousPort };
}

/** `--launcher=srun` has no rendezvous to relay the image through. */
export const SRUN_PULL_ONCE_WARNING =
  "--pull-once needs the rendezvous, which --launcher=srun does not have: each node pulls the image itself (stage it first with `srun srun-docker pull --pull-once IMAGE`)";

/** A required option that is missing while a typo of it went to the script: say so. */
function requireOrSuggest(values: LayeredValues, name: string, misses: readonly NearMiss[]): void {
  const miss = misses.find((m) => m.option === name);
  if (values.get(name) !== undefined || miss === undefined) return;
  const eq = miss.token.indexOf("=");
  const meant = eq < 0 ? `--${name}` : `--${name}${miss.token.slice(eq)}`;
  throw usageError(`\`--${name}\` is required`, `\`${miss.token}\` would go to the script; did you mean \`${meant}\`?`);
}

/**
 * `--sshconfigdir` and `--sshdport` configure the containers' sshd, so they imply
 * `--remote=sshd`; a `--remote=agent` typed beside them is a contradiction. (An `agent` from
 * the environment or a config file is a default that they override.)
 */
export function readRemote(
  values: LayeredValues,
  sshconfigdir: string | undefined,
  sshdPort: number | undefined,
): Remote {
  const remote = optional(values, "remote", SETTING.remote);
  const sshdOption = sshconfigdir !== undefined ? "--sshconfigdir" : sshdPort !== undefined ? "--sshdport" : undefined;
  if (sshdOption === undefined) return remote ?? "agent";
  if (remote === "agent" && values.sources.get("remote") === "cli") {
    throw usageError(
      `\`--remote=agent\` and \`${sshdOption}\` contradict each other: ${sshdOption} configures an sshd in the containers`,
      `drop ${sshdOption}, or use --remote=sshd`,
    );
  }
  return "sshd";
}

/**
 * What `srun --pty srun-docker --container=IMG` runs: nothing to run was given, on a terminal
 * Slurm opened for the step (its tasks get `SLURM_PTY_PORT`), so a shell in the container, as
 * `asuser` gives one. bash when the image has it (job control, history), else sh.
 */
const PICK_SHELL = "if command -v bash >/dev/null 2>&1; then exec bash; fi; exec sh";
export const INTERACTIVE_SHELL: readonly string[] = ["/bin/sh", "-c", PICK_SHELL];

function wantsShell(
  values: LayeredValues,
  launcher: Launcher | undefined,
  rest: readonly string[],
  env: NodeJS.ProcessEnv,
) {
  const onPty = env.SLURM_PTY_PORT !== undefined && env.SLURM_PTY_PORT !== "";
  return onPty && rest.length === 0 && values.get("script") === undefined && (launcher ?? "srun") === "srun";
}

/**
 * `srun srun-docker --container-image=IMG PROGRAM`, as with Pyxis: each Slurm task runs the
 * program (the srun launcher), unless `--script` or a `--launcher` on the command line says otherwise.
 */
function pyxisForm(values: LayeredValues): boolean {
  const typed = values.sources.get("launcher") === "cli" || values.get("script") !== undefined;
  return !typed && values.get("container-image") !== undefined;
}

/** The words after `--` are the program; an unknown option before it would become its name. */
function readProgram(rest: readonly string[], asking: "--launcher=srun" | "--container-image"): readonly string[] {
  const [first] = rest;
  if (first === undefined) {
    const example = asking === "--launcher=srun" ? "--launcher=srun --container=IMG" : "--container-image=IMG";
    throw usageError(
      `\`${asking}\` needs the program each task runs`,
      `put it after --, e.g. srun-docker ${example} -- python3 app.py, or give --script=PATH`,
    );
  }
  if (first.startsWith("-")) {
    throw usageError(`unknown option \`${first}\``, "srun-docker --help lists the options; the program goes after --");
  }
  return rest;
}
