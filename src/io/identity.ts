// Who is calling: the user the containers run as, with the passwd/group lines that make
// that user exist inside the image. Read once per node through getent (NSS: LDAP/SSSD too).
import { userInfo } from "node:os";
import { UserError } from "../core/errors.js";
import { runCommand } from "./exec.js";

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

export async function readIdentity(run = runCommand): Promise<Identity> {
  const info = userInfo();
  // Two lookups at once; the group one needs the ids.
  const [passwd, ids] = await Promise.all([run("getent", ["passwd", String(info.uid)]), run("id", ["-G"])]);
  const passwdLine = passwd.stdout.trim().split("\n")[0] ?? "";
  if (passwd.exitCode !== 0 || !passwdLine) {
    throw new UserError("identity", `no passwd entry for uid ${info.uid}`, {
      hint: "srun-docker runs containers as the calling user; check `getent passwd $(id -u)`",
    });
  }
  const all = ids.stdout.trim().split(/\s+/).filter(Boolean).map(Number);
  const gids = [...new Set([info.gid, ...all])];
  const groups = await run("getent", ["group", ...gids.map(String)]);
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
