// How a node's container ended by itself during a job (the OOM killer, an admin's `docker
// kill`, a daemon that died or restarted), as data, and the one line the node says about it.
// Pure, so the wording and the engine's answers are tested without an engine.
import { UserError } from "../common/index.js";

/** What one look at the container says (`inspect`). */
export type ContainerStatus =
  | { readonly kind: "running" }
  | { readonly kind: "exited"; readonly code: number }
  /** The engine does not know it (removed: `--rm` after its end, before we could ask; `rm -f`). */
  | { readonly kind: "gone" }
  /** The engine did not answer (its daemon died, or restarts). */
  | { readonly kind: "unreachable"; readonly why: string };

/** How a container that was up ended without our teardown. */
export type ContainerEnd =
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "gone" }
  /** The engine stopped answering for longer than a restart takes: nothing can reach the container. */
  | { readonly kind: "engine-lost"; readonly why: string };

/** The `--format` of `inspect` that parseContainerStatus reads from the CLI. */
export const CONTAINER_STATUS_FORMAT = "{{.State.Running}} {{.State.ExitCode}}";

/** The CLI's `inspect --format CONTAINER_STATUS_FORMAT` line: running, or its exit code. */
export function parseStatusLine(line: string): ContainerStatus | undefined {
  const m = /^(true|false) (-?\d+)$/.exec(line.trim());
  if (m === null) return undefined;
  return m[1] === "true" ? { kind: "running" } : { kind: "exited", code: Number(m[2]) };
}

/** The Engine API's container JSON (GET /containers/NAME/json): running, or its exit code. */
export function parseInspectState(json: string): ContainerStatus | undefined {
  try {
    const state = (JSON.parse(json) as { State?: { Running?: unknown; ExitCode?: unknown } }).State;
    if (state?.Running === true) return { kind: "running" };
    if (state?.Running === false)
      return { kind: "exited", code: typeof state.ExitCode === "number" ? state.ExitCode : -1 };
  } catch {
    // not JSON: said as undefined
  }
  return undefined;
}

/** The kernel's signal numbers behind exit codes 128+n that a killed container gives. */
const SIGNALS: Readonly<Record<number, string>> = {
  1: "SIGHUP",
  2: "SIGINT",
  6: "SIGABRT",
  9: "SIGKILL",
  11: "SIGSEGV",
  15: "SIGTERM",
};

/** `137: killed; out of memory, or SIGKILL`, `143: SIGTERM, a stop`, `1`. */
export function describeExitCode(code: number, outOfMemory?: string): string {
  if (outOfMemory !== undefined) return `${code}: killed for memory; ${outOfMemory}`;
  if (code === 137) return "137: killed; out of memory, or SIGKILL";
  if (code === 143) return "143: SIGTERM, as a stop sends";
  const signal = code > 128 ? SIGNALS[code - 128] : undefined;
  return signal === undefined ? String(code) : `${code}: ${signal}`;
}

/** What a node exits with: the container's own code when it says a failure, else 1; never 0. */
export function exitCodeOfEnd(end: ContainerEnd): number {
  return end.kind === "exited" && end.code > 0 && end.code < 256 ? end.code : 1;
}

/**
 * The one line a node says when its container ended during the job, e.g. `node2: the
 * container exited during the job (137: killed; out of memory, or SIGKILL)`. `outOfMemory`,
 * when the engine saw the kernel kill for memory there, names the limit.
 */
export function containerEndedDuringJob(node: string, bin: string, end: ContainerEnd, outOfMemory?: string): UserError {
  const what =
    end.kind === "exited"
      ? `the container exited during the job (${describeExitCode(end.code, outOfMemory)})`
      : end.kind === "gone"
        ? "the container ended during the job and is gone (killed, or removed)"
        : `the container was lost during the job: ${bin} stopped answering (${end.why})`;
  return new UserError("container-ended", `${node}: ${what}`, {
    hint:
      end.kind === "engine-lost"
        ? `check ${bin}'s daemon on ${node} (its log, \`systemctl status ${bin}\`); every node of the job was ended`
        : `see \`${bin} events\` and the kernel log (dmesg) on ${node}; every node of the job was ended`,
    exitCode: exitCodeOfEnd(end),
  });
}
