// Site and user config files (TOML), read once at start-up. Layering (later wins):
// site file < user file < SRUN_DOCKER_* environment < command line. Parsing is core/plan/config-file.ts.
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { isErrno, UserError } from "../../core/common/index.js";

export interface ConfigFileText {
  readonly file: string;
  readonly text: string;
}

export function configFilePaths(env: NodeJS.ProcessEnv): string[] {
  const site = env.SRUN_DOCKER_SITE_CONFIG || "/etc/srun-docker/config.toml";
  const userBase = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), ".config");
  const user = env.SRUN_DOCKER_CONFIG || path.join(userBase, "srun-docker", "config.toml");
  return [site, user];
}

/** The config files that exist, site first; a missing file is no layer, an unreadable one an error. */
export async function readConfigFiles(env: NodeJS.ProcessEnv): Promise<ConfigFileText[]> {
  const found: ConfigFileText[] = [];
  for (const file of configFilePaths(env)) {
    try {
      found.push({ file, text: await readFile(file, "utf8") });
    } catch (error) {
      if (isErrno(error, "ENOENT")) continue;
      throw new UserError("config", `config file ${file} cannot be read: ${(error as Error).message}`, {
        hint: "fix its permissions or remove it",
        exitCode: 2,
      });
    }
  }
  return found;
}
