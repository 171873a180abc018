/**
 * Connections that never authenticated, counted instead of logged one by one. The servers that
 * take strangers' connections (the agent in the container, the rendezvous master, the image
 * relay) refuse each of them, and another user can open thousands a second: a line for each
 * grew the container's log (and, with --debug, the Slurm output) by about 1 MB a second. So a
 * server notes each refusal here and logs one summary line per window: the first comes
 * `firstMs` after the first refusal (soon enough to be seen while it happens), the next no
 * sooner than `everyMs` after the one before; nothing is said while nothing is refused.
 * A connection whose peer merely left (a readiness probe, a port scan) is not a refusal and is
 * not counted. Pure: the caller's clock, its timer (io/channel/refusal-log.ts).
 */

/** Why a connection that did not authenticate was closed by the server. */
export type RefusalKind = "rejected" | "crowded out" | "timed out";

const KINDS: readonly RefusalKind[] = ["rejected", "crowded out", "timed out"];

/** The first summary of a flood, this long after its first refusal. */
export const REFUSAL_FIRST_SUMMARY_MS = 1000;
/** At most one summary this often: the log grows by one line per window, whatever the flood. */
export const REFUSAL_SUMMARY_EVERY_MS = 10_000;
/** Sources counted one by one; a flood from more addresses than this is in the totals only. */
export const REFUSAL_MAX_SOURCES = 1024;

export interface RefusalTallyOptions {
  readonly firstMs?: number;
  readonly everyMs?: number;
  readonly maxSources?: number;
}

export interface RefusalTally {
  /**
   * Counts one refusal of a connection from `source` (its address). Returns in how many ms the
   * summary is due when this refusal opened a window, else undefined (one is due already).
   */
  note(kind: RefusalKind, source: string, now: number): number | undefined;
  /** The window's summary line, and a new window; undefined when nothing was refused since the last. */
  summarize(now: number): string | undefined;
}

export function createRefusalTally(options: RefusalTallyOptions = {}): RefusalTally {
  const firstMs = options.firstMs ?? REFUSAL_FIRST_SUMMARY_MS;
  const everyMs = options.everyMs ?? REFUSAL_SUMMARY_EVERY_MS;
  const maxSources = options.maxSources ?? REFUSAL_MAX_SOURCES;
  let counts = new Map<RefusalKind, number>();
  let bySource = new Map<string, number>();
  let openedAt: number | undefined;
  let lastSummaryAt: number | undefined;
  return {
    note(kind, source, now) {
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      const address = sourceAddress(source);
      const seen = bySource.get(address);
      if (seen !== undefined || bySource.size < maxSources) bySource.set(address, (seen ?? 0) + 1);
      if (openedAt !== undefined) return undefined;
      openedAt = now;
      const due = Math.max(now + firstMs, lastSummaryAt === undefined ? 0 : lastSummaryAt + everyMs);
      return due - now;
    },
    summarize(now) {
      if (openedAt === undefined) return undefined;
      const line = summaryLine(counts, bySource, now - openedAt);
      counts = new Map();
      bySource = new Map();
      openedAt = undefined;
      lastSummaryAt = now;
      return line;
    },
  };
}

const SUMMARY_WORDS = "that did not authenticate";

function summaryLine(counts: Map<RefusalKind, number>, bySource: Map<string, number>, ms: number): string {
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  const kinds = KINDS.filter((kind) => counts.has(kind)).map((kind) => `${counts.get(kind)} ${kind}`);
  let busiest: [string, number] | undefined;
  for (const entry of bySource) if (busiest === undefined || entry[1] > busiest[1]) busiest = entry;
  const from = busiest === undefined ? "" : `; most from ${busiest[0]} (${busiest[1]})`;
  const connections = total === 1 ? "connection" : "connections";
  return `refused ${total} ${connections} ${SUMMARY_WORDS} in ${(ms / 1000).toFixed(1)} s (${kinds.join(", ")})${from}`;
}

/** Whether a log line is such a summary: it never explains why a server exited. */
export function isRefusalSummary(line: string): boolean {
  return /\brefused \d+ connections? that did not authenticate in /.test(line);
}

/** An address without its port, and an IPv4 address as itself rather than IPv6-mapped. */
export function sourceAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice("::ffff:".length) : address;
}
