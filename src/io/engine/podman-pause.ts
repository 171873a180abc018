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
import { PODMAN_RELEASE_WATCH_SCRIPT } from "../../core/engine/index.js";
import { type RunCommandResult, spawnOrphan } from "../process/index.js";

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

/**
 * One node's rootless podman namespace, as the runtime uses it: released once no container is
 * left, and only again after another podman command (which may have restarted the pause
 * process). `enabled` is false for docker and for root, where there is nothing to release.
 */
export class UserNamespace {
  /** An engine command ran since the last release: a pause process may be up. */
  private usedSinceRelease = false;
  private releasing: Promise<void> | undefined;

  constructor(
    private readonly enabled: boolean,
    private readonly podman: (args: string[]) => Promise<RunCommandResult>,
    private readonly kill: (pid: number, signal: NodeJS.Signals) => void,
  ) {}

  used(): void {
    this.usedSinceRelease = true;
  }

  release(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    // Released already and no podman command since: asking podman now would start a new pause
    // process (and one left by a run that exits meanwhile would stay). Concurrent callers (the
    // signal handler's teardown and the run's own) share one release.
    if (!this.usedSinceRelease) return this.releasing ?? Promise.resolve();
    this.usedSinceRelease = false;
    this.releasing = endPausedNamespace(this.podman, this.kill).then(
      // Not released (containers left, podman failing): the next call tries again.
      (released) => {
        if (!released) this.usedSinceRelease = true;
      },
      (error: unknown) => {
        this.usedSinceRelease = true;
        throw error;
      },
    );
    return this.releasing;
  }

  /** A watcher outside this process that ends the pause process if we die without our teardown. */
  watch(lifeline: string, switchDir: string, spawnDetached: (argv: readonly string[]) => void = spawnOrphan): void {
    if (!this.enabled) return;
    spawnDetached([
      "/bin/sh",
      "-c",
      PODMAN_RELEASE_WATCH_SCRIPT,
      "srun-docker-userns-watch",
      lifeline,
      String(process.pid),
      switchDir,
    ]);
  }
}
