/**
 * What `srun-docker sshconfig` writes for `--sshconfigdir` (the directory create_mpisshconfig.sh
 * made): the sshd_config of a user-run sshd and the ~/.ssh/config block to paste. Pure; the
 * directory and its keys are made by io/ssh/legacy-ssh-config.ts.
 */
import { USER_SSHD_POLICY } from "./ssh-config.js";

// No RSA: every OpenSSH since 6.5 (2014) has ed25519, and RSA keys are slow to make.
export const HOST_KEY_TYPES = ["ed25519", "ecdsa"] as const;
/** Every container presents the same host keys, so ssh checks them under one name. */
export const HOST_KEY_ALIAS = "srun-docker-containers";

/** sshd_config for `sshd -f <dir>/sshd_config` run as the user inside the containers. */
export function renderLegacySshdConfig(dir: string, port: number): string {
  return [
    "# Written by `srun-docker sshconfig`: an sshd run by the user inside job containers.",
    `Port ${port}`,
    ...HOST_KEY_TYPES.map((type) => `HostKey ${dir}/ssh_host_${type}_key`),
    // The user's own ~/.ssh/authorized_keys keeps working for keys set up the old way.
    `AuthorizedKeysFile ${dir}/authorized_keys .ssh/authorized_keys`,
    ...USER_SSHD_POLICY,
    "AcceptEnv LANG LC_*",
    "",
  ].join("\n");
}

export function renderLegacySshConfigBlock(
  dir: string,
  port: number,
  hostPatterns: readonly string[] = ["node*"],
): string {
  return [
    `# srun-docker: ssh between job containers, whose sshd listens on port ${port}.`,
    ...(hostPatterns.length === 1 && hostPatterns[0] === "node*"
      ? ["# Replace node* with your compute nodes' names (sinfo -h -N -o %N)."]
      : []),
    `Host ${hostPatterns.join(" ")}`,
    `    Port ${port}`,
    `    IdentityFile ${dir}/id_ed25519`,
    "    IdentitiesOnly yes",
    `    HostKeyAlias ${HOST_KEY_ALIAS}`,
    `    UserKnownHostsFile ${dir}/known_hosts`,
    "    StrictHostKeyChecking yes",
    "",
  ].join("\n");
}
