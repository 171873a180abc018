/**
 * What `--remote=agent` mounts into every container: this srun-docker. Run as the single
 * executable, its own file (Node inside, so images need none). Run as the .cjs bundle (`node
 * srun-docker.cjs`, or the npm package's bin, a link to it), the single executable built beside
 * it where there is one (dist/srun-docker), else the bundle itself with the Node binary running
 * it: the npm package holds only the bundle.
 */
import { accessSync, closeSync, constants, openSync, readSync, realpathSync } from "node:fs";
import { isSea } from "node:sea";
import type { AgentProgram } from "../../core/agent/index.js";

export function findAgentProgram(
  execPath: string = process.execPath,
  script: string | undefined = process.argv[1],
  runningAsSea: () => boolean = isSea,
): AgentProgram | undefined {
  if (runningAsSea()) return { kind: "executable", path: execPath };
  const bundle = script === undefined ? undefined : realPath(script);
  if (bundle === undefined) return undefined;
  if (bundle.endsWith(".cjs")) {
    const beside = bundle.slice(0, -".cjs".length);
    if (isElfExecutable(beside)) return { kind: "executable", path: beside };
  } else if (bundle !== thisBundle()) return undefined;
  // execPath is /proc/self/exe, the binary itself rather than a link to it: a link would dangle in the container.
  return { kind: "bundle", node: execPath, bundle };
}

/**
 * The bundle this code runs from, whatever its name: a site may install the .cjs as plain
 * `srun-docker`. In the CommonJS bundle `__filename` is its own file; elsewhere (the sources
 * under a test runner) it is not the script being run.
 */
function thisBundle(): string | undefined {
  return typeof __filename === "string" ? realPath(__filename) : undefined;
}

/** The file behind the links npm's bin puts on the PATH. */
function realPath(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
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
