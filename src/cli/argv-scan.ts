import type { ConfigLayer } from "../core/config-file.js";
import { usageError } from "../core/errors.js";
import type { OptionSpec } from "./option-specs.js";
import type { RawValue } from "./option-values.js";

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
  const values = new Map<string, RawValue>();
  const rest: string[] = [];
  const unknownOptions: string[] = [];
  const find = (token: string): OptionSpec | undefined => findSpec(specs, token);
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      rest.push(...argv.slice(i + 1));
      break;
    }
    const spec = find(token);
    if (spec === undefined) {
      if (!token.startsWith("-") || token === "-") {
        if (mode.passThrough) {
          rest.push(...argv.slice(i));
          break;
        }
        rest.push(token);
        continue;
      }
      if (mode.passThrough) {
        rest.push(token);
        unknownOptions.push(token);
        continue;
      }
      throw usageError(`unknown option \`${token.split("=")[0]}\``, `see \`${mode.helpCommand}\` for the options`);
    }
    const eq = token.indexOf("=");
    const typed = eq < 0 ? token : token.slice(0, eq);
    const origin = `\`${typed}\``;
    if (spec.value === undefined) {
      values.set(spec.name, { value: eq < 0 ? true : token.slice(eq + 1), origin });
      continue;
    }
    if (eq >= 0) {
      values.set(spec.name, { value: token.slice(eq + 1), origin });
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next === "--" || find(next) !== undefined) {
      throw usageError(`${origin} needs a value`, `write ${typed}=${spec.value.replace(/[<>]/g, "")}`);
    }
    values.set(spec.name, { value: next, origin });
    i++;
  }
  return { values, rest, unknownOptions };
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
