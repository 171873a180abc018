/**
 * When to ask a busy registry again: exponential back-off with jitter (so the nodes of a
 * job that all got a 429 do not come back in the same millisecond), a registry's own
 * `Retry-After` honoured when it is reasonable, and a deadline none of it may pass.
 */
export interface BackoffPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
  /** A `Retry-After` longer than this is not waited for: the limit will not lift within the job. */
  readonly maxRetryAfterMs: number;
}

/** 1, 2, 4, 8 s (each ±50 %): a registry restarting or a rate-limit window has ~15 s. */
export const REGISTRY_BACKOFF: BackoffPolicy = { attempts: 5, baseMs: 1000, maxMs: 30_000, maxRetryAfterMs: 60_000 };

/**
 * The pause before try `attempt + 1` after try `attempt` (1-based) failed retryably, or
 * undefined to give up: no tries left, a `Retry-After` too long, or the deadline before it ends.
 * `random` in [0, 1) spreads the pause over [d/2, d).
 */
export function nextRetryDelayMs(input: {
  readonly attempt: number;
  readonly policy: BackoffPolicy;
  readonly random: number;
  readonly retryAfterMs?: number | undefined;
  readonly nowMs: number;
  readonly deadlineMs?: number | undefined;
}): number | undefined {
  const { attempt, policy, random, retryAfterMs, nowMs, deadlineMs } = input;
  if (attempt >= policy.attempts) return undefined;
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) return undefined;
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  const jittered = Math.round(step / 2 + (Math.min(Math.max(random, 0), 1) * step) / 2);
  const delay = Math.max(jittered, retryAfterMs ?? 0);
  if (deadlineMs !== undefined && nowMs + delay >= deadlineMs) return undefined;
  return delay;
}

/**
 * `Retry-After` (RFC 9110): delay-seconds or an HTTP date, in ms from `nowEpochMs`;
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | undefined, nowEpochMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowEpochMs);
}
