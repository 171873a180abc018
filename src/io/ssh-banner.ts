/**
 * sshd readiness by its banner: an sshd that accepts a TCP connection and sends
 * "SSH-2.0-..." is ready for ssh/mpirun. A bare open port is not enough (docker-proxy, or a
 * half-started daemon), so the wait reads the first line.
 */
import { connect as netConnect, type Socket } from "node:net";
import { UserError } from "../core/errors.js";
import { formatSeconds, realTimers, sleep, type Timers } from "./timers.js";

export interface WaitForSshBannerOptions {
  retryDelayMs?: number;
  /** Longest one connect-and-read may take. */
  attemptTimeoutMs?: number;
  timers?: Timers;
  connect?: (port: number, host: string) => Socket;
  /** Stops waiting (rejects with the signal's reason) once aborted. */
  signal?: AbortSignal;
}

/** Resolves with the milliseconds it took; a UserError naming host:port once `deadlineMs` passed. */
export async function waitForSshBanner(
  host: string,
  port: number,
  deadlineMs: number,
  options: WaitForSshBannerOptions = {},
): Promise<number> {
  const timers = options.timers ?? realTimers;
  const startedAt = timers.now();
  let lastError = "no attempt made";
  for (;;) {
    options.signal?.throwIfAborted();
    const remaining = deadlineMs - (timers.now() - startedAt);
    if (remaining <= 0) break;
    const result = await readBanner(host, port, Math.min(remaining, options.attemptTimeoutMs ?? 2000), options, timers);
    if (result === undefined) return timers.now() - startedAt;
    lastError = result;
    await sleep(Math.min(options.retryDelayMs ?? 200, deadlineMs - (timers.now() - startedAt)), timers);
  }
  throw new UserError(
    "sshd-not-ready",
    `sshd at ${host}:${port} did not answer within ${formatSeconds(timers.now() - startedAt)} (last: ${lastError})`,
    { hint: "the image needs openssh-server (/usr/sbin/sshd); check the container's log for sshd errors" },
  );
}

/** undefined when a banner arrived, else why not. */
function readBanner(
  host: string,
  port: number,
  timeoutMs: number,
  options: WaitForSshBannerOptions,
  timers: Timers,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((p, h) => netConnect({ port: p, host: h })))(port, host);
    let received = "";
    let settled = false;
    const finish = (error: string | undefined): void => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    const timer = timers.setTimeout(
      () => finish(socket.connecting ? "connect timed out" : "connected, but no banner came"),
      timeoutMs,
    );
    socket.setEncoding("latin1");
    let linesSeen = 0;
    socket.on("data", (chunk: string) => {
      received += chunk;
      for (let newline = received.indexOf("\n"); newline !== -1; newline = received.indexOf("\n")) {
        const line = received.slice(0, newline).trimEnd();
        // RFC 4253 §4.2 lets a server send other lines before its version line.
        if (line.startsWith("SSH-2.0-") || line.startsWith("SSH-1.99-")) return finish(undefined);
        if (++linesSeen > 20) return finish(`not an ssh server (${JSON.stringify(line.slice(0, 40))})`);
        received = received.slice(newline + 1);
      }
      if (received.length > 255) finish(`not an ssh server (${JSON.stringify(received.slice(0, 40))})`);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on("close", () => finish("closed without a banner"));
  });
}
