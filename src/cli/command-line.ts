import { usageError } from "../core/common/index.js";
import type { ConfigLayer } from "../core/plan/index.js";
import { layerValues, type OptionSource, scanArgv } from "./argv-scan.js";
import { type ExecOptions, parseExecArgs } from "./exec-options.js";
import type { HelpTopic } from "./help.js";
import { ASUSER_OPTIONS, type OptionSpec, RUN_OPTIONS } from "./option-specs.js";
import { type RawValue, toFlag } from "./option-values.js";
import { parseRunArgs, type RunOptions } from "./options.js";
import { type PullCommandOptions, parsePullCommandArgs } from "./pull-command-options.js";
import { checkSettings } from "./setting-values.js";
import {
  type AsuserOptions,
  type CleanOptions,
  type DoctorOptions,
  type HostlistOp,
  parseAsuserArgs,
  parseCleanArgs,
  parseDoctorArgs,
  parseHostlistArgs,
  parseSshconfigArgs,
  type SshconfigOptions,
} from "./subcommand-options.js";
import {
  CLEAN_OPTIONS,
  CONFIG_OPTIONS,
  DOCTOR_OPTIONS,
  EXEC_OPTIONS,
  HOSTLIST_OPTIONS,
  PULL_COMMAND_OPTIONS,
  SSHCONFIG_OPTIONS,
} from "./subcommand-specs.js";

/** One effective setting, for `srun-docker config`. */
export interface ConfigSetting {
  readonly name: string;
  readonly value: RawValue["value"] | undefined;
  readonly source: OptionSource;
}

/** What the command line asks for; `main` switches on `kind`. */
export type Command =
  | { readonly kind: "run"; readonly options: RunOptions }
  | { readonly kind: "asuser"; readonly options: AsuserOptions }
  | { readonly kind: "sshconfig"; readonly options: SshconfigOptions }
  | { readonly kind: "hostlist"; readonly op: HostlistOp; readonly args: readonly string[]; readonly sort: boolean }
  | { readonly kind: "doctor"; readonly options: DoctorOptions }
  | { readonly kind: "clean"; readonly options: CleanOptions }
  | { readonly kind: "pull"; readonly options: PullCommandOptions }
  | { readonly kind: "exec"; readonly options: ExecOptions }
  | { readonly kind: "config"; readonly settings: readonly ConfigSetting[]; readonly debug: boolean }
  | { readonly kind: "help"; readonly topic: HelpTopic }
  | { readonly kind: "completion"; readonly shell: "bash" }
  | { readonly kind: "man" }
  | { readonly kind: "version" };

type Subcommand = Exclude<HelpTopic, "run">;

const SUBCOMMAND_SPECS: Readonly<Record<Subcommand, readonly OptionSpec[]>> = {
  asuser: ASUSER_OPTIONS,
  sshconfig: SSHCONFIG_OPTIONS,
  hostlist: HOSTLIST_OPTIONS,
  doctor: DOCTOR_OPTIONS,
  clean: CLEAN_OPTIONS,
  pull: PULL_COMMAND_OPTIONS,
  exec: EXEC_OPTIONS,
  config: CONFIG_OPTIONS,
};

function isSubcommand(word: string | undefined): word is Subcommand {
  return word !== undefined && Object.hasOwn(SUBCOMMAND_SPECS, word);
}

/**
 * Top-level dispatch. A subcommand is recognised only as the first word, so a job script's
 * own arguments can never be mistaken for one.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[] = [],
): Command {
  const [first, ...rest] = argv;
  if (first === "help") return { kind: "help", topic: helpTopic(rest[0]) };
  if (first === "completion") return { kind: "completion", shell: completionShell(rest) };
  if (first === "man" && rest.length === 0) return { kind: "man" };
  if (!isSubcommand(first)) {
    const scan = scanArgv(RUN_OPTIONS, argv, { passThrough: true, helpCommand: "srun-docker --help" });
    if (isSet(scan.values.get("help"))) return { kind: "help", topic: "run" };
    if (isSet(scan.values.get("version"))) return { kind: "version" };
    return { kind: "run", options: parseRunArgs(argv, env, layers) };
  }
  const scan = scanArgv(SUBCOMMAND_SPECS[first], rest, {
    passThrough: false,
    helpCommand: `srun-docker ${first} --help`,
  });
  if (isSet(scan.values.get("help"))) return { kind: "help", topic: first };
  switch (first) {
    case "asuser":
      return { kind: "asuser", options: parseAsuserArgs(rest, env, layers) };
    case "sshconfig":
      return { kind: "sshconfig", options: parseSshconfigArgs(rest, env, layers) };
    case "hostlist":
      return { kind: "hostlist", ...parseHostlistArgs(rest, env) };
    case "doctor":
      return { kind: "doctor", options: parseDoctorArgs(rest, env, layers) };
    case "clean":
      return { kind: "clean", options: parseCleanArgs(rest, env, layers) };
    case "pull":
      return { kind: "pull", options: parsePullCommandArgs(rest, env, layers) };
    case "exec":
      return { kind: "exec", options: parseExecArgs(rest, env, layers) };
    case "config":
      if (scan.rest.length > 0)
        throw usageError("`srun-docker config` takes no arguments", "run `srun-docker config` alone");
      return { kind: "config", settings: effectiveSettings(env, layers), debug: isSet(scan.values.get("debug")) };
    default:
      return assertNever(first);
  }
}

function helpTopic(word: string | undefined): HelpTopic {
  if (word === undefined) return "run";
  if (isSubcommand(word)) return word;
  throw usageError(
    `no help for \`${word}\``,
    `use \`srun-docker help\` or one of: ${Object.keys(SUBCOMMAND_SPECS).join(", ")}`,
  );
}

function completionShell(words: readonly string[]): "bash" {
  if (words.length === 1 && words[0] === "bash") return "bash";
  throw usageError(
    `\`srun-docker completion\` takes the shell's name, and knows bash: got \`${words.join(" ")}\``,
    'add `eval "$(srun-docker completion bash)"` to ~/.bashrc',
  );
}

function isSet(raw: RawValue | undefined): boolean {
  return raw !== undefined && toFlag(raw);
}

/**
 * The configurable settings as env and config files leave them (the command line aside), each
 * checked as the run checks it: a value the run would refuse is the same usage error here.
 */
export function effectiveSettings(env: NodeJS.ProcessEnv, layers: readonly ConfigLayer[]): ConfigSetting[] {
  const specs = [...RUN_OPTIONS, ...ASUSER_OPTIONS].filter(
    (spec, index, all) => spec.configurable && all.findIndex((other) => other.name === spec.name) === index,
  );
  const values = layerValues(specs, new Map(), env, layers);
  checkSettings(
    values,
    specs.map((spec) => spec.name),
  );
  return specs.map((spec) => ({
    name: spec.name,
    value: values.get(spec.name)?.value,
    source: values.sources.get(spec.name) ?? "default",
  }));
}

function assertNever(value: never): never {
  throw new Error(`internal error: unhandled subcommand ${String(value)}; please report`);
}
