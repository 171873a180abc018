/**
 * The image's own ssh client, for hosts that are not nodes of the job (`git` over ssh, a
 * login node): the first `ssh` on PATH that is not this binary under another name (the agent
 * is bind-mounted as `ssh` first on PATH; a bind mount or a link keeps the file's device and
 * inode, so identity is by those, not by path).
 */
import { spawn as baseSpawn } from "node:child_process";
import { access, constants, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Spawn } from "../process/index.js";
import { exitCodeOf } from "../process/index.js";

export async function findRealSsh(
  pathVariable: string | undefined,
  selfFiles: readonly string[],
): Promise<string | undefined> {
  const selves = (await Promise.all(selfFiles.map((file) => stat(file).catch(() => undefined)))).filter(
    (self) => self !== undefined,
  );
  for (const dir of (pathVariable ?? "").split(":")) {
    if (dir === "") continue;
    const candidate = join(dir, "ssh");
    const found = await stat(candidate).catch(() => undefined);
    if (found === undefined || !found.isFile()) continue;
    if (selves.some((self) => self.dev === found.dev && self.ino === found.ino)) continue;
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

/** The part of `process` this needs; tests pass an EventEmitter. */
export interface ForwardingSignals {
  on(event: "SIGINT" | "SIGTERM" | "SIGHUP", listener: () => void): unknown;
  off(event: "SIGINT" | "SIGTERM" | "SIGHUP", listener: () => void): unknown;
}

/**
 * Runs `file argv` on our stdio and resolves with its exit code (128+n for signal n). Node has
 * no exec(): we stay as its parent. Ctrl-C reaches it from the terminal directly (same process
 * group), so SIGINT is only swallowed here; SIGTERM and SIGHUP sent to us alone are passed on.
 */
export function runRealSsh(
  file: string,
  argv: readonly string[],
  signals: ForwardingSignals = process,
  spawn: Spawn = baseSpawn,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: "inherit" });
    const ignore = (): void => {};
    const forward = (signal: "SIGTERM" | "SIGHUP") => () => child.kill(signal);
    const listeners = [
      ["SIGINT", ignore],
      ["SIGTERM", forward("SIGTERM")],
      ["SIGHUP", forward("SIGHUP")],
    ] as const;
    for (const [signal, listener] of listeners) signals.on(signal, listener);
    const done = (code: number): void => {
      for (const [signal, listener] of listeners) signals.off(signal, listener);
      resolve(code);
    };
    child.on("error", (error: NodeJS.ErrnoException) => {
      process.stderr.write(`srun-docker ssh: cannot run ${file}: ${error.code ?? error.message}\n`);
      done(255);
    });
    child.on("exit", (code, signal) => done(exitCodeOf({ code, signal })));
  });
}
