// `srun-docker sshconfig`: the reference's create_mpisshconfig.sh, for users who keep the
// old `--sshconfigdir` mode. (The default mode needs no manual ssh setup at all.)
import { homedir } from "node:os";
import path from "node:path";
import type { SshconfigOptions } from "../cli/subcommand-options.js";
import { createLegacySshConfigDir } from "../io/ssh/index.js";

export const LEGACY_SSHD_PORT = 12345;

export async function runSshconfig(options: SshconfigOptions, out = process.stdout): Promise<number> {
  const dir = options.sshconfigdir ?? path.join(homedir(), "mpisshconfig");
  const port = options.sshdPort ?? LEGACY_SSHD_PORT;
  if (options.dryRun) {
    out.write(`would create ${dir} (sshd on port ${port})\n`);
    return 0;
  }
  const result = await createLegacySshConfigDir(dir, port);
  out.write(`created ${dir}\nAdd this to ~/.ssh/config:\n\n${result.sshConfigBlock}\n`);
  return 0;
}
