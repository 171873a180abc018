// Whether a node's new container is ready for remote commands: its sshd or agent answers on
// localhost. It fails at once, with the server's last words, when the server or the whole
// container ends first, instead of waiting out --timeout.
import { containerEndedError, serverExitedError } from "../../core/container-start-errors.js";
import { NEVER } from "../../core/deferred.js";
import type { RemoteService } from "../../core/node-plan.js";
import type { ContainerRuntime } from "../../io/container-runtime.js";
import type { Lifeline } from "../../io/lifeline.js";
import { waitForGreeting } from "../../io/remote-greeting.js";

/**
 * sshd listens some 10-30 ms after `docker run -d` returns, so the first attempt is usually
 * refused. A refused connect to localhost costs well under a millisecond; the default 200 ms
 * pause cost ~180 ms of every launch (measured by `npm run bench`).
 */
const BANNER_RETRY_MS = 10;

export interface ServerToWaitFor {
  runtime: Pick<ContainerRuntime, "node" | "bin" | "waitStopped" | "lastLogLine">;
  /** The container's name. */
  name: string;
  remote: RemoteService;
  lifeline: Lifeline;
}

/** Resolves once the server answers; throws why not. Aborts `stop` when it returns, and ends when it is aborted. */
export async function waitForServer(server: ServerToWaitFor, deadlineMs: number, stop: AbortController): Promise<void> {
  const { runtime, remote } = server;
  try {
    const first = await Promise.race([
      waitForGreeting(remote.kind, "127.0.0.1", remote.port, deadlineMs, {
        retryDelayMs: BANNER_RETRY_MS,
        signal: stop.signal,
      }).then(() => undefined),
      server.lifeline.mainExit(stop.signal).then((code) => (code === undefined ? NEVER : { main: code })),
      // The whole container ended (its init or the switch killed, e.g. out of memory).
      runtime.waitStopped(server.name, stop.signal).then((code) => (code === undefined ? NEVER : { container: code })),
    ]);
    if (first === undefined) return;
    if ("container" in first) throw containerEndedError(runtime.node, runtime.bin, first.container);
    // sshd or the agent exited (no sshd in the image, no glibc, bad config): its own last words say why.
    const last = await runtime.lastLogLine(server.name).catch(() => "");
    throw serverExitedError(runtime.node, remote.kind, first.main, last);
  } finally {
    stop.abort();
  }
}
