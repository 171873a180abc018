/**
 * A worker's side of the rendezvous: connect to the master, retrying with a bounded backoff
 * until the deadline, authenticate it (HMAC, see core/rendezvous-protocol.ts), then report
 * ready or failed and wait for done/abort. Until the master proves it holds the secret,
 * whatever it sends is ignored, so another user listening on the port cannot stop or start
 * this node's job. With the "each" launcher the worker also waits for go, then reports when
 * its script exited. One attempt and its session live in rendezvous-worker-link.ts.
 */
import { UserError } from "../core/errors.js";
import { attemptJoin, type LinkOptions, type RendezvousWorkerSession } from "./rendezvous-worker-link.js";
import { formatSeconds, realTimers, sleep, type Timers } from "./timers.js";

export type { WorkerOutcome } from "../core/rendezvous-worker-state.js";
export type { RendezvousWorkerSession } from "./rendezvous-worker-link.js";

export interface RendezvousWorkerOptions extends LinkOptions {
  /** How long, from now, to keep trying to join. */
  deadlineMs: number;
  /** First pause between attempts; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Longest one attempt (connect + handshake) may take. */
  attemptTimeoutMs?: number;
  timers?: Timers;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: "attempt-failed"; attempt: number; error: string }
  | { type: "joined"; attempts: number; elapsedMs: number };

export async function connectRendezvousWorker(options: RendezvousWorkerOptions): Promise<RendezvousWorkerSession> {
  const timers = options.timers ?? realTimers;
  const startedAt = timers.now();
  const maxDelay = options.maxRetryDelayMs ?? 2000;
  let delay = options.retryDelayMs ?? 250;
  let lastError = "no attempt made";
  for (let attempt = 1; ; attempt++) {
    const remaining = options.deadlineMs - (timers.now() - startedAt);
    if (remaining <= 0) {
      const where = `${options.host}:${options.port}`;
      throw new UserError(
        "rendezvous-unreachable",
        `node ${options.node} could not join the rendezvous at ${where} within ${formatSeconds(timers.now() - startedAt)} (${attempt - 1} attempts; last: ${lastError})`,
        {
          hint: `check that srun-docker runs on the first node of the step, that ${where} is reachable from this node (--rendezvous-port), and raise --timeout if the master is slow to start`,
        },
      );
    }
    const attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    const result = await attemptJoin(options, timers, Math.min(remaining, attemptTimeoutMs));
    if (result.ok) {
      options.onEvent?.({ type: "joined", attempts: attempt, elapsedMs: timers.now() - startedAt });
      return result.session;
    }
    // An attempt the deadline cut short says less than the one before it.
    if (attempt === 1 || !(remaining < attemptTimeoutMs && result.timedOut)) lastError = result.error;
    options.onEvent?.({ type: "attempt-failed", attempt, error: result.error });
    await sleep(Math.min(delay, options.deadlineMs - (timers.now() - startedAt)), timers);
    delay = Math.min(delay * 2, maxDelay);
  }
}
