import { usageError } from "../core/common/index.js";
import type { ConfigLayer } from "../core/plan/index.js";
import type { RawValue } from "./option-values.js";

/** One option as data (the tables are in option-specs.ts): what the scanner, the layering and the help read. */
export interface OptionSpec {
  /** Canonical long name without dashes, dash-case: `slots-per-node`. `_` is accepted for `-`. */
  readonly name: string;
  /** The reference scripts' spelling, shown beside the new one in help: `slots_per_node`. */
  readonly legacy?: string;
  readonly short?: string;
  /** Placeholder for the value, e.g. `<n>`; absent for a flag. */
  readonly value?: string;
  /** The only values it takes, for completion (cli/completion.ts); `value` lists them as `<a|b>`. */
  readonly choices?: readonly string[];
  readonly description: string;
  /** Settable from `SRUN_DOCKER_<NAME>` and config files, not only on the command line. */
  readonly configurable?: true;
}

/**
 * Splits argv into our options and everything else, the reference's way: `--opt=value` (and
 * `--opt value`), `_` and `-` interchangeable in names, any other `--x=y` kept for the job
 * script, and `--` or the first plain word ending our options. This is done by hand rather
 * than by commander's parser because the pass-through rules are the product: an unknown
 * option's value must never be taken from the next word, a known flag written `--flag=no`
 * must not slip through to the script, and the script's arguments must come back verbatim
 * and in order. commander still renders the help (see help.ts).
 */
export interface ScanResult {
  /** Our options as given on the command line, by spec name; the last occurrence wins. */
  readonly values: ReadonlyMap<string, RawValue>;
  /** Unknown options, plain words and everything after `--`, verbatim and in order. */
  readonly rest: readonly string[];
  /** The unknown options among `rest` that came before our options ended (typos are among them). */
  readonly unknownOptions: readonly string[];
}

export interface ScanMode {
  /** Unknown options go to `rest` (the job script) instead of being an error. */
  readonly passThrough: boolean;
  /** How to point at help in errors, e.g. `srun-docker asuser --help`. */
  readonly helpCommand: string;
}

export function scanArgv(specs: readonly OptionSpec[], argv: readonly string[], mode: ScanMode): ScanResult {
  const scan: Scan = { values: new Map(), rest: [], unknownOptions: [] };
  for (let i = 0; i < argv.length; ) {
    const token = argv[i] ?? "";
    if (token === "--") {
      scan.rest.push(...argv.slice(i + 1));
      break;
    }
    const spec = findSpec(specs, token);
    const used = spec === undefined ? scanOther(scan, argv, i, mode) : scanOption(scan, spec, specs, argv, i);
    if (used === "rest") break;
    i += used;
  }
  return scan;
}

interface Scan {
  values: Map<string, RawValue>;
  rest: string[];
  unknownOptions: string[];
}

/** A word that is none of our options: the script's, or an error. The words it took, or "rest". */
function scanOther(scan: Scan, argv: readonly string[], i: number, mode: ScanMode): number | "rest" {
  const token = argv[i] ?? "";
  if (!token.startsWith("-") || token === "-") {
    if (!mode.passThrough) {
      scan.rest.push(token);
      return 1;
    }
    scan.rest.push(...argv.slice(i));
    return "rest";
  }
  if (!mode.passThrough)
    throw usageError(`unknown option \`${token.split("=")[0]}\``, `see \`${mode.helpCommand}\` for the options`);
  scan.rest.push(token);
  scan.unknownOptions.push(token);
  return 1;
}

/** One of our options, its value attached (`--x=v`), next (`--x v`) or none (a flag); the words it took. */
function scanOption(
  scan: Scan,
  spec: OptionSpec,
  specs: readonly OptionSpec[],
  argv: readonly string[],
  i: number,
): number {
  const token = argv[i] ?? "";
  const eq = token.indexOf("=");
  const typed = eq < 0 ? token : token.slice(0, eq);
  const origin = `\`${typed}\``;
  if (spec.value === undefined || eq >= 0) {
    scan.values.set(spec.name, { value: eq < 0 ? true : token.slice(eq + 1), origin });
    return 1;
  }
  const next = argv[i + 1];
  if (next === undefined || next === "--" || findSpec(specs, next) !== undefined) {
    throw usageError(`${origin} needs a value`, `write ${typed}=${spec.value.replace(/[<>]/g, "")}`);
  }
  scan.values.set(spec.name, { value: next, origin });
  return 2;
}

function findSpec(specs: readonly OptionSpec[], token: string): OptionSpec | undefined {
  if (/^-[A-Za-z]$/.test(token)) return specs.find((spec) => spec.short === token.slice(1));
  if (!token.startsWith("--") || token.length < 3) return undefined;
  const eq = token.indexOf("=");
  const name = (eq < 0 ? token.slice(2) : token.slice(2, eq)).replace(/_/g, "-");
  return specs.find((spec) => spec.name === name);
}

/** Where an effective option value came from. */
export type OptionSource = "cli" | "env" | "default" | { readonly file: string };

export interface LayeredValues {
  get(name: string): RawValue | undefined;
  readonly sources: ReadonlyMap<string, OptionSource>;
}

/**
 * Layers CLI > `SRUN_DOCKER_*` environment > config files (later ones win) for the options
 * marked configurable; other options come from the command line only.
 */
export function layerValues(
  specs: readonly OptionSpec[],
  cli: ReadonlyMap<string, RawValue>,
  env: NodeJS.ProcessEnv,
  layers: readonly ConfigLayer[],
): LayeredValues {
  const chosen = new Map<string, RawValue>();
  const sources = new Map<string, OptionSource>();
  for (const spec of specs) {
    const fromCli = cli.get(spec.name);
    if (fromCli !== undefined) {
      chosen.set(spec.name, fromCli);
      sources.set(spec.name, "cli");
      continue;
    }
    if (!spec.configurable) continue;
    const envName = envNameFor(spec.name);
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv !== "") {
      chosen.set(spec.name, { value: fromEnv, origin: `\`${envName}\`` });
      sources.set(spec.name, "env");
      continue;
    }
    for (const layer of [...layers].reverse()) {
      const key = [spec.name, spec.name.replace(/-/g, "_")].find((k) => Object.hasOwn(layer.values, k));
      const value = key === undefined ? undefined : layer.values[key];
      if (key !== undefined && value !== undefined) {
        chosen.set(spec.name, { value, origin: `\`${key}\` in ${layer.source}` });
        sources.set(spec.name, { file: layer.source });
        break;
      }
    }
  }
  return { get: (name) => chosen.get(name), sources };
}

/** `shm-size` → `SRUN_DOCKER_SHM_SIZE`. */
export function envNameFor(name: string): string {
  return `SRUN_DOCKER_${name.toUpperCase().replace(/-/g, "_")}`;
}
