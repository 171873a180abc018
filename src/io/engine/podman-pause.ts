/**
 * Rootless podman holds the user's namespace in a "pause" process that the first podman
 * command of a node starts and that outlives it, reparented to init; where Slurm tracks a
 * job's processes by parentage (proctrack/linuxproc), nothing ends it. Once this user has no
 * container left on the node, end it the way `podman system migrate` does (SIGKILL), without
 * migrate's stopping of containers: the next podman command starts a new one, and one already
 * inside the namespace keeps it (its containers' conmon rejoin it).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { PODMAN_RELEASE_WATCH_SCRIPT, PODMAN_RUNTIME_DIR_FILE } from "../../core/engine/index.js";
import { type RunCommandResult, spawnOrphan } from "../process/index.js";

/**
 * true when there is no pause process left to end (ended now, or none was there); false
 * when it must stay (a container is left) or podman could not tell. `runtimeDir`, when known,
 * saves asking `podman info` for it.
 */
export async function endPausedNamespace(
  podman: (args: string[]) => Promise<RunCommandResult>,
  kill: (pid: number, signal: NodeJS.Signals) => void,
  runtimeDir?: string,
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
  const dir = runtimeDir ?? (await askRuntimeDir(ask));
  if (dir === undefined) return false;
  const pidFile = path.join(dir, "libpod", "tmp", "pause.pid");
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
 * The API socket lies in podman's runtime dir ($XDG_RUNTIME_DIR, or the fallback podman chose
 * when that is unset or unusable, as in many Slurm steps), beside the pid file.
 */
async function askRuntimeDir(ask: (args: string[]) => Promise<RunCommandResult>): Promise<string | undefined> {
  const info = await ask(["info", "--format", "{{.Host.RemoteSocket.Path}}"]);
  const socket = info.stdout.trim();
  return info.exitCode === 0 && path.isAbsolute(socket) ? path.dirname(path.dirname(socket)) : undefined;
}

/**
 * Podman hands its runtime dir to conmon as XDG_RUNTIME_DIR: conmon's environment (our own
 * process, which the container cannot touch) names it exactly, whatever fallback podman chose.
 */
export async function runtimeDirOfConmon(conmonPid: number): Promise<string | undefined> {
  const environ = await readFile(`/proc/${conmonPid}/environ`, "utf8").catch(() => "");
  const dir = environ
    .split("\0")
    .find((entry) => entry.startsWith("XDG_RUNTIME_DIR="))
    ?.slice("XDG_RUNTIME_DIR=".length);
  return dir !== undefined && path.isAbsolute(dir) ? dir : undefined;
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
  /** Podman's runtime dir, once a container's conmon told it; until then `podman info` is asked. */
  private runtimeDir: string | undefined;
  /** Where the watcher looks for the runtime dir (see PODMAN_RUNTIME_DIR_FILE). */
  private watchedSwitchDir: string | undefined;

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
    this.releasing = endPausedNamespace(this.podman, this.kill, this.runtimeDir).then(
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

  /** Learns the runtime dir from a container's conmon, for our release and the watcher's. */
  async learnFromConmon(conmonPid: number): Promise<void> {
    if (!this.enabled || this.runtimeDir !== undefined) return;
    this.runtimeDir = await runtimeDirOfConmon(conmonPid);
    await this.tellWatcher();
  }

  private async tellWatcher(): Promise<void> {
    if (this.runtimeDir === undefined || this.watchedSwitchDir === undefined) return;
    // Best effort: without it the watcher asks `podman info`, only more slowly.
    await writeFile(path.join(this.watchedSwitchDir, PODMAN_RUNTIME_DIR_FILE), this.runtimeDir).catch(() => undefined);
  }

  /** A watcher outside this process that ends the pause process if we die without our teardown. */
  watch(lifeline: string, switchDir: string, spawnDetached: (argv: readonly string[]) => void = spawnOrphan): void {
    if (!this.enabled) return;
    this.watchedSwitchDir = switchDir;
    void this.tellWatcher();
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
