/**
 * The job files of `--remote=sshd` with generated material: the job's host and client keys
 * (derived for this job step alone, io/files/job-keys.ts), the container sshd's config, the
 * authorized_keys that carries the job's variables into every ssh session, and the client side
 * (known_hosts, ssh_config) the master's ssh, mpirun and pdsh read. All in the job dir, the one
 * part of `~/.srun-docker` the container sees.
 */

import type { NodePort } from "../ports/index.js";
import { renderJobAuthorizedKeys, renderKnownHosts, renderSshClientConfig, renderSshdConfig } from "../ssh/index.js";
import type { JobKeys } from "./node-plan-input.js";
import type { PlannedFile } from "./planned-file.js";

export interface SshdFilesInput {
  readonly user: string;
  /** Every node and where its sshd listens, for the clients. */
  readonly hosts: readonly NodePort[];
  readonly keys: Pick<JobKeys, "sshHost" | "sshClient">;
  /** The job's variables for every ssh session. */
  readonly env: Readonly<Record<string, string>>;
  /** A file's path in the node's job dir. */
  readonly file: (name: string) => string;
}

export function planSshdFiles(input: SshdFilesInput): Record<string, PlannedFile> {
  const { user, hosts, keys, file } = input;
  return {
    ssh_host_ed25519_key: { content: keys.sshHost.privateKey, mode: 0o600 },
    id_ed25519: { content: keys.sshClient.privateKey, mode: 0o600 },
    sshd_config: {
      content: renderSshdConfig({
        hostKeyPath: file("ssh_host_ed25519_key"),
        authorizedKeysPath: file("authorized_keys"),
        user,
        permitUserEnvironment: true,
      }),
      mode: 0o600,
    },
    authorized_keys: { content: renderJobAuthorizedKeys(keys.sshClient.publicKey, input.env), mode: 0o600 },
    known_hosts: { content: renderKnownHosts(hosts, keys.sshHost.publicKey), mode: 0o644 },
    ssh_config: {
      content: renderSshClientConfig({
        hosts,
        user,
        identityFile: file("id_ed25519"),
        knownHostsFile: file("known_hosts"),
      }),
      mode: 0o644,
      // Also mounted as /etc/ssh/ssh_config, for a plain `ssh` in the script.
      boundAsFile: true,
    },
  };
}
