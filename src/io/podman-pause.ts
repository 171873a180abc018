/**
 * Rootless podman holds the user's namespace in a "pause" process that the first podman
 * command of a node starts and that outlives it, reparented to init; where Slurm tracks a
 * job's processes by parentage (proctrack/linuxproc), nothing ends it. Once this user has no
 * container left on the node, end it the way `podman system migrate` does (SIGKILL), without
 * migrate's stopping of containers: the next podman command starts a new one, and one already
 * inside the namespace keeps it (its containers' conmon rejoin it).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { RunCommandResult } from "./exec.js";

/**
 * true when there is no pause process left to end (ended now, or none was there); false
 * when it must stay (a container is left) or podman could not tell.
 */
export async function endPausedNamespace(
  podman: (args: string[]) => Promise<RunCommandResult>,
  kill: (pid: number, signal: NodeJS.Signals) => void,
): Promise<boolean> {
  // The step's SIGTERM reaches these podman children too: one killed is asked again.
  const ask = async (args: string[]) => {
    for (let attempt = 1; ; attempt++) {
      const r = await podman(args);
      if (r.exitCode !== null || attempt === 3) return r;
    }
  };
  const left = await ask(["ps", "-aq"]);
  if (left.exitCode !== 0 || left.stdout.trim() !== "") return false;
  // The API socket lies in podman's runtime dir ($XDG_RUNTIME_DIR, or the fallback podman
  // chose when that is unset or unusable, as in many Slurm steps), beside the pid file.
  const info = await ask(["info", "--format", "{{.Host.RemoteSocket.Path}}"]);
  const socket = info.stdout.trim();
  if (info.exitCode !== 0 || !path.isAbsolute(socket)) return false;
  const pidFile = path.join(path.dirname(path.dirname(socket)), "libpod", "tmp", "pause.pid");
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 1) return true;
  // A stale pid file may name a reused pid: only a pause process is ended.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!/(^|\/)(catatonit|podman)\0/.test(cmdline)) return true;
  try {
    kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
  return true;
}
