// One config file (TOML) checked against the options that may be configured. Pure: the files
// are read by io/files/config-files.ts and the known keys come from the option specs in cli/.
import { parse } from "smol-toml";
import { UserError } from "../common/index.js";

export type ConfigValue = string | boolean | number | readonly string[];

/** A config file's values, lowest priority first: site file, then user file. */
export interface ConfigLayer {
  /** Where the values came from, e.g. `/etc/srun-docker/config.toml`. */
  readonly source: string;
  readonly values: Readonly<Record<string, ConfigValue>>;
}

export function parseConfigFile(file: string, text: string, knownKeys: readonly string[]): ConfigLayer {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    const first = (error as Error).message.split("\n")[0] ?? "";
    throw configError(file, `is not valid TOML: ${first}`, "see https://toml.io for the syntax");
  }
  const values: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!knownKeys.includes(key.replace(/_/g, "-"))) {
      throw configError(file, `has unknown key \`${key}\``, `known keys: ${knownKeys.join(", ")}`);
    }
    // A TOML list of strings is the same as the comma-separated form on the command line.
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) values[key] = value.join(",");
    else if (typeof value === "string" || typeof value === "boolean" || typeof value === "number") values[key] = value;
    else
      throw configError(
        file,
        `key \`${key}\` must be a string, number, boolean or list of strings`,
        `e.g. ${key} = "value"`,
      );
  }
  return { source: file, values };
}

function configError(file: string, what: string, hint: string): UserError {
  return new UserError("config", `config file ${file} ${what}`, { hint, exitCode: 2 });
}
