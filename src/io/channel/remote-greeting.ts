/**
 * Readiness of the server that remote commands reach in a container (sshd, or srun-docker's
 * agent): connect and read what it says first (core/agent/greetings.ts). A bare open port is not
 * enough (docker-proxy, or a half-started daemon).
 */
import { connect as netConnect, type Socket } from "node:net";
import { checkGreeting, type GreetingService } from "../../core/agent/index.js";
import { UserError } from "../../core/common/index.js";
import { formatSeconds, realTimers, sleep, type Timers } from "../process/index.js";

export interface WaitForGreetingOptions {
  retryDelayMs?: number;
  /** Longest one connect-and-read may take. */
  attemptTimeoutMs?: number;
  timers?: Timers;
  connect?: (port: number, host: string) => Socket;
  /** Stops waiting (rejects with the signal's reason) once aborted. */
  signal?: AbortSignal;
}

const WHO: Record<GreetingService, { name: string; hint: string }> = {
  sshd: {
    name: "sshd",
    hint: "the image needs openssh-server (/usr/sbin/sshd) for --remote=sshd; check the container's log for sshd errors",
  },
  agent: {
    name: "srun-docker's agent",
    hint: "the image needs /bin/sh and glibc for the agent; check the container's log (`docker logs`) for its errors",
  },
};

/** Resolves with the milliseconds it took; a UserError naming host:port once `deadlineMs` passed. */
export async function waitForGreeting(
  service: GreetingService,
  host: string,
  port: number,
  deadlineMs: number,
  options: WaitForGreetingOptions = {},
): Promise<number> {
  const timers = options.timers ?? realTimers;
  const startedAt = timers.now();
  let lastError = "no attempt made";
  for (;;) {
    options.signal?.throwIfAborted();
    const remaining = deadlineMs - (timers.now() - startedAt);
    if (remaining <= 0) break;
    const fullAttemptMs = options.attemptTimeoutMs ?? 2000;
    const attemptMs = Math.min(remaining, fullAttemptMs);
    const result = await readGreeting(service, host, port, attemptMs, options, timers);
    if (result === undefined) return timers.now() - startedAt;
    // An attempt the deadline cut short says less than the one before it.
    if (attemptMs === fullAttemptMs || lastError === "no attempt made") lastError = result;
    await sleep(Math.min(options.retryDelayMs ?? 200, deadlineMs - (timers.now() - startedAt)), timers);
  }
  const { name, hint } = WHO[service];
  throw new UserError(
    `${service}-not-ready`,
    `${name} at ${host}:${port} did not answer within ${formatSeconds(timers.now() - startedAt)} (last: ${lastError})`,
    { hint },
  );
}

/** undefined when the greeting arrived, else why not. */
function readGreeting(
  service: GreetingService,
  host: string,
  port: number,
  timeoutMs: number,
  options: WaitForGreetingOptions,
  timers: Timers,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((p, h) => netConnect({ port: p, host: h })))(port, host);
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: string | undefined): void => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    const timer = timers.setTimeout(
      () =>
        finish(
          socket.connecting
            ? "connect timed out"
            : `connected, but no ${service === "sshd" ? "banner" : "greeting"} came`,
        ),
      timeoutMs,
    );
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const check = checkGreeting(service, received);
      if (check.kind === "ready") finish(undefined);
      else if (check.kind === "wrong") finish(check.why);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message));
    socket.on("close", () => finish(`closed without a ${service === "sshd" ? "banner" : "greeting"}`));
  });
}
