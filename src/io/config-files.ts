// Site and user config files (TOML), read once at start-up. Layering (later wins):
// site file < user file < SRUN_DOCKER_* environment < command line.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { parse } from "smol-toml";
import type { ConfigLayer } from "../cli/argv-scan.js";
import { CONFIG_KEYS } from "../cli/option-specs.js";
import { isErrno, UserError } from "../core/errors.js";

export function configFilePaths(env: NodeJS.ProcessEnv): string[] {
  const site = env.SRUN_DOCKER_SITE_CONFIG || "/etc/srun-docker/config.toml";
  const userBase = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), ".config");
  const user = env.SRUN_DOCKER_CONFIG || path.join(userBase, "srun-docker", "config.toml");
  return [site, user];
}

export async function loadConfigLayers(env: NodeJS.ProcessEnv): Promise<ConfigLayer[]> {
  const layers: ConfigLayer[] = [];
  for (const file of configFilePaths(env)) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if (isErrno(error, "ENOENT")) continue;
      throw configError(file, `cannot be read: ${(error as Error).message}`, "fix its permissions or remove it");
    }
    layers.push({ source: file, values: parseConfig(file, text) });
  }
  return layers;
}

/** Pure: one file's keys, checked against the configurable options. */
export function parseConfig(file: string, text: string): ConfigLayer["values"] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (error) {
    const first = (error as Error).message.split("\n")[0] ?? "";
    throw configError(file, `is not valid TOML: ${first}`, "see https://toml.io for the syntax");
  }
  const values: Record<string, string | boolean | number | readonly string[]> = {};
  for (const [key, value] of Object.entries(doc)) {
    const name = key.replace(/_/g, "-");
    if (!CONFIG_KEYS.includes(name)) {
      throw configError(file, `has unknown key \`${key}\``, `known keys: ${CONFIG_KEYS.join(", ")}`);
    }
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) values[key] = value.join(",");
    else if (typeof value === "string" || typeof value === "boolean" || typeof value === "number") values[key] = value;
    else
      throw configError(
        file,
        `key \`${key}\` must be a string, number, boolean or list of strings`,
        `e.g. ${key} = "value"`,
      );
  }
  return values;
}

function configError(file: string, what: string, hint: string): UserError {
  return new UserError("config", `config file ${file} ${what}`, { hint, exitCode: 2 });
}
