/**
 * `srun-docker sshconfig`: the directory create_mpisshconfig.sh made for `--sshconfigdir`, made
 * without building an image: host keys, an sshd_config for a user-run sshd on `port` with its
 * HostKeys in the directory, plus a client key and the ~/.ssh/config block to paste. Unlike
 * the old script's output, root login and passwords are off and the client checks host keys.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { isErrno, UserError } from "../../core/common/index.js";
import {
  HOST_KEY_ALIAS,
  HOST_KEY_TYPES,
  renderLegacySshConfigBlock,
  renderLegacySshdConfig,
} from "../../core/ssh/index.js";
import { tempPathBeside } from "../files/index.js";
import { generateKeyPair, type KeygenOptions } from "./ssh-material.js";

export interface LegacySshConfigOptions extends KeygenOptions {
  /** `Host` patterns of the printed block; default a placeholder the block says to replace. */
  hostPatterns?: readonly string[];
  /** Replace an existing directory. */
  force?: boolean;
}

export interface LegacySshConfig {
  dir: string;
  sshdConfigPath: string;
  clientKeyPath: string;
  knownHostsPath: string;
  /** The block for ~/.ssh/config, ending in a newline. */
  sshConfigBlock: string;
}

export async function createLegacySshConfigDir(
  dir: string,
  port: number,
  options: LegacySshConfigOptions = {},
): Promise<LegacySshConfig> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`internal error: sshd port ${port} out of range (please report)`);
  }
  const target = resolve(dir);
  const existing = await stat(target).catch((error: unknown) =>
    isErrno(error, "ENOENT") ? undefined : Promise.reject(error),
  );
  if (existing !== undefined && !options.force) {
    throw new UserError("sshconfig-exists", `${target} already exists`, {
      hint: "pass --force to replace it, or choose another directory",
    });
  }
  await mkdir(dirname(target), { recursive: true });
  const temp = tempPathBeside(target);
  try {
    await mkdir(temp, { mode: 0o700 });
    const user = userInfo().username;
    const hostKeys: string[] = [];
    for (const type of HOST_KEY_TYPES) {
      await generateKeyPair(join(temp, `ssh_host_${type}_key`), type, `srun-docker host ${user}`, options);
      hostKeys.push((await readFile(join(temp, `ssh_host_${type}_key.pub`), "utf8")).trim());
    }
    await generateKeyPair(join(temp, "id_ed25519"), "ed25519", `srun-docker client ${user}`, options);
    const clientPublicKey = (await readFile(join(temp, "id_ed25519.pub"), "utf8")).trim();
    await writeFile(join(temp, "authorized_keys"), `${clientPublicKey}\n`, { mode: 0o600 });
    await writeFile(join(temp, "known_hosts"), hostKeys.map((key) => `${HOST_KEY_ALIAS} ${key}\n`).join(""), {
      mode: 0o644,
    });
    await writeFile(join(temp, "sshd_config"), renderLegacySshdConfig(target, port), { mode: 0o644 });
    if (existing !== undefined) await rm(target, { recursive: true, force: true });
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return {
    dir: target,
    sshdConfigPath: join(target, "sshd_config"),
    clientKeyPath: join(target, "id_ed25519"),
    knownHostsPath: join(target, "known_hosts"),
    sshConfigBlock: renderLegacySshConfigBlock(target, port, options.hostPatterns),
  };
}
