/**
 * A worker's side of the rendezvous: connect to the master, retrying with a bounded backoff
 * until the deadline, authenticate it (HMAC, see core/rendezvous/rendezvous-protocol.ts), then report
 * ready or failed and wait for done/abort. Until the master proves it holds the secret,
 * whatever it sends is ignored, so another user listening on the port cannot stop or start
 * this node's job. With the "each" launcher the worker also waits for go, then reports when
 * its script exited. One attempt and its session live in rendezvous-worker-link.ts.
 *
 * With fallback ports (core/ports/port-candidates.ts) each round tries them in order, as the master
 * listens on the first one free on its node. A candidate where something accepted but did not
 * prove to be our master (another user's program, maybe on purpose) moves to the end for the
 * rounds after; as its MAC is bound to the port, what a worker sends there is no use elsewhere.
 */
import { UserError } from "../../core/common/index.js";
import { formatSeconds, realTimers, sleep, type Timers } from "../process/index.js";
import { attemptJoin, type LinkOptions, type RendezvousWorkerSession } from "./rendezvous-worker-link.js";

export type { WorkerOutcome } from "../../core/rendezvous/index.js";
export type { RendezvousWorkerSession } from "./rendezvous-worker-link.js";

export interface RendezvousWorkerOptions extends LinkOptions {
  /** Tried after `port`, in order, as the master does (core/ports/port-candidates.ts). */
  fallbackPorts?: readonly number[];
  /** How long, from now, to keep trying to join. */
  deadlineMs: number;
  /** First pause between attempts; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Longest one attempt (connect + handshake) may take. */
  attemptTimeoutMs?: number;
  /** Longest an attempt on a candidate with others after it may take: a silent squatter costs this. */
  candidateTimeoutMs?: number;
  timers?: Timers;
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: "attempt-failed"; attempt: number; port: number; error: string }
  | { type: "joined"; attempts: number; elapsedMs: number };

/** The first pause after a round of attempts failed. */
const FIRST_RETRY_MS = 15;

/** What the rounds of attempts have learned so far. */
interface Rounds {
  readonly startedAt: number;
  readonly candidates: readonly number[];
  /** Candidates where something else answered: tried last. */
  readonly foreign: Set<number>;
  attempt: number;
  lastError: string;
}

export async function connectRendezvousWorker(options: RendezvousWorkerOptions): Promise<RendezvousWorkerSession> {
  const timers = options.timers ?? realTimers;
  const maxDelay = options.maxRetryDelayMs ?? 2000;
  const rounds: Rounds = {
    startedAt: timers.now(),
    candidates: [options.port, ...(options.fallbackPorts ?? [])],
    foreign: new Set(),
    attempt: 0,
    lastError: "no attempt made",
  };
  // srun starts every node at once, and a worker often tries before the master listens: a long
  // first pause was paid by every launch (250 ms cost ~0.25 s at N=2, `npm run bench`). Refused
  // connects are cheap, and the pause doubles, so a master that never comes costs few attempts.
  let delay = options.retryDelayMs ?? FIRST_RETRY_MS;
  for (;;) {
    const session = await tryEachCandidate(options, timers, rounds);
    if (session !== undefined) return session;
    await sleep(Math.min(delay, options.deadlineMs - (timers.now() - rounds.startedAt)), timers);
    delay = Math.min(delay * 2, maxDelay);
  }
}

/** One round: each candidate once, those where something else answered last. */
async function tryEachCandidate(
  options: RendezvousWorkerOptions,
  timers: Timers,
  rounds: Rounds,
): Promise<RendezvousWorkerSession | undefined> {
  const { candidates, foreign } = rounds;
  const order = [...candidates.filter((p) => !foreign.has(p)), ...candidates.filter((p) => foreign.has(p))];
  for (const [index, port] of order.entries()) {
    const elapsedMs = timers.now() - rounds.startedAt;
    const remaining = options.deadlineMs - elapsedMs;
    if (remaining <= 0) throw unreachable(options, candidates, rounds.attempt, rounds.lastError, elapsedMs);
    rounds.attempt++;
    const fullMs = options.attemptTimeoutMs ?? 5000;
    const ownMs = index === order.length - 1 ? fullMs : Math.min(fullMs, options.candidateTimeoutMs ?? 1000);
    const result = await attemptJoin({ ...options, port }, timers, Math.min(remaining, ownMs));
    if (result.ok) {
      options.onEvent?.({ type: "joined", attempts: rounds.attempt, elapsedMs: timers.now() - rounds.startedAt });
      return result.session;
    }
    if (result.connected && candidates.length > 1) foreign.add(port);
    const error = candidates.length > 1 ? `${result.error} (port ${port})` : result.error;
    // An attempt the deadline cut short says less than the one before it.
    if (rounds.attempt === 1 || !(remaining < ownMs && result.timedOut)) rounds.lastError = error;
    options.onEvent?.({ type: "attempt-failed", attempt: rounds.attempt, port, error: result.error });
  }
  return undefined;
}

function unreachable(
  options: RendezvousWorkerOptions,
  candidates: readonly number[],
  attempts: number,
  lastError: string,
  elapsedMs: number,
): UserError {
  const where = `${options.host}:${candidates.length === 1 ? options.port : `{${candidates.join(",")}}`}`;
  return new UserError(
    "rendezvous-unreachable",
    `node ${options.node} could not join the rendezvous at ${where} within ${formatSeconds(elapsedMs)} (${attempts} attempts; last: ${lastError})`,
    {
      hint: `check that srun-docker runs on the first node of the step, that ${where} is reachable from this node (--rendezvous-port), and raise --timeout if the master is slow to start`,
    },
  );
}
