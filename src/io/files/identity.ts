// Who is calling: the user the containers run as, with the passwd/group lines that make
// that user exist inside the image. Read once per node through getent (NSS: LDAP/SSSD too).
import { userInfo } from "node:os";
import { UserError } from "../../core/common/index.js";
import { runCommand } from "../process/index.js";

export interface Identity {
  user: string;
  uid: number;
  gid: number;
  home: string;
  /** Supplementary group ids, the primary one excluded. */
  groups: number[];
  passwdLine: string;
  groupLines: string[];
}

/**
 * The passwd and group lookups run at once: the group ids are the process's own (what `id -G`
 * prints, read without a process of its own), so nothing waits for another lookup.
 */
export async function readIdentity(run = runCommand, groupIds: () => number[] = ownGroupIds): Promise<Identity> {
  const info = userInfo();
  const gids = [...new Set([info.gid, ...groupIds()])];
  const [passwd, groups] = await Promise.all([
    run("getent", ["passwd", String(info.uid)]),
    run("getent", ["group", ...gids.map(String)]),
  ]);
  const passwdLine = passwd.stdout.trim().split("\n")[0] ?? "";
  if (passwd.exitCode !== 0 || !passwdLine) {
    throw new UserError("identity", `no passwd entry for uid ${info.uid}`, {
      hint: "srun-docker runs containers as the calling user; check `getent passwd $(id -u)`",
    });
  }
  const home = process.env.HOME && process.env.HOME !== "/" ? process.env.HOME : info.homedir;
  return {
    user: info.username,
    uid: info.uid,
    gid: info.gid,
    home,
    groups: gids.filter((g) => g !== info.gid),
    passwdLine,
    groupLines: groups.stdout.split("\n").filter(Boolean),
  };
}

/** The supplementary groups of this process (Slurm's task has the user's, as `id -G` would print). */
function ownGroupIds(): number[] {
  return process.getgroups?.() ?? [];
}
