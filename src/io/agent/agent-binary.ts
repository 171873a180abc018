/**
 * The file `--remote=agent` mounts into every container: srun-docker's single executable
 * (Node inside, so images need none). Run as that executable, it is this process's own file;
 * run as the .cjs bundle (`node srun-docker.cjs`), the one built beside it (dist/srun-docker).
 */
import { accessSync, closeSync, constants, openSync, readSync } from "node:fs";
import { isSea } from "node:sea";

export function findAgentBinary(
  execPath: string = process.execPath,
  script: string | undefined = process.argv[1],
  runningAsSea: () => boolean = isSea,
): string | undefined {
  if (runningAsSea()) return execPath;
  if (script === undefined || !script.endsWith(".cjs")) return undefined;
  const beside = script.slice(0, -".cjs".length);
  return isElfExecutable(beside) ? beside : undefined;
}

/** An executable ELF file: the single executable, not a `#!/usr/bin/env node` script. */
function isElfExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    const fd = openSync(file, "r");
    try {
      const head = Buffer.alloc(4);
      return readSync(fd, head, 0, 4, 0) === 4 && head.toString("latin1") === "\x7fELF";
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}
