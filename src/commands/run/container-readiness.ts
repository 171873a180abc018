// Whether a node's new container is ready for remote commands: its sshd or agent says which of
// the job's ports it bound (the switch dir, core/engine/dead-man-switch.ts), and answers there on
// localhost. It fails at once, with the server's last words, when the server or the whole
// container ends first, instead of waiting out --timeout.

import { NEVER } from "../../core/common/index.js";
import { containerEndedError, serverExitedError, serverSilentError } from "../../core/engine/index.js";
import type { RemoteService } from "../../core/plan/index.js";
import { waitForGreeting } from "../../io/channel/index.js";
import type { ContainerRuntime } from "../../io/container/index.js";
import type { Lifeline } from "../../io/engine/index.js";
import { realTimers } from "../../io/process/index.js";

/**
 * The server answers as soon as it says its port (it says so once it listens), so the first
 * attempt rarely fails. A refused connect to localhost costs well under a millisecond; the
 * default 200 ms pause cost ~180 ms of every launch (measured by `npm run bench`).
 */
const BANNER_RETRY_MS = 10;

export interface ServerToWaitFor {
  runtime: Pick<ContainerRuntime, "node" | "bin" | "waitStopped" | "lastLogLine">;
  /** The container's name. */
  name: string;
  remote: RemoteService;
  lifeline: Lifeline;
}

/**
 * Resolves with the port the server listens on, once it answers there; throws why not. Aborts
 * `stop` when it returns, and ends when it is aborted.
 */
export async function waitForServer(
  server: ServerToWaitFor,
  deadlineMs: number,
  stop: AbortController,
): Promise<number> {
  const { runtime, remote, lifeline } = server;
  const startedAt = realTimers.now();
  let timer: unknown;
  const late = new Promise<{ late: true }>((resolve) => {
    timer = realTimers.setTimeout(() => resolve({ late: true }), deadlineMs);
  });
  try {
    const first = await Promise.race([
      lifeline.remotePort(stop.signal).then((port) => (port === undefined ? NEVER : { port })),
      lifeline.mainExit(stop.signal).then((code) => (code === undefined ? NEVER : { main: code })),
      // The whole container ended (its init or the switch killed, e.g. out of memory).
      runtime.waitStopped(server.name, stop.signal).then((code) => (code === undefined ? NEVER : { container: code })),
      late,
      // Removal ends the wait: it rejects with the reason given (cancelled).
      new Promise<never>((_, reject) => {
        const abort = () => reject(stop.signal.reason);
        if (stop.signal.aborted) abort();
        else stop.signal.addEventListener("abort", abort, { once: true });
      }),
    ]);
    if ("late" in first) throw serverSilentError(runtime.node, remote.kind, deadlineMs);
    if ("port" in first) {
      await waitForGreeting(remote.kind, "127.0.0.1", first.port, deadlineMs - (realTimers.now() - startedAt), {
        retryDelayMs: BANNER_RETRY_MS,
        signal: stop.signal,
      });
      return first.port;
    }
    if ("container" in first) throw containerEndedError(runtime.node, runtime.bin, first.container);
    // sshd or the agent exited (no sshd in the image, no glibc, bad config, every port taken):
    // its own last words say why.
    const last = await runtime.lastLogLine(server.name).catch(() => "");
    throw serverExitedError(runtime.node, remote.kind, first.main, last);
  } finally {
    realTimers.clearTimeout(timer);
    stop.abort();
  }
}
