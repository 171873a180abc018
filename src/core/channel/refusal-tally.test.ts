import fc from "fast-check";
import { expect, test } from "vitest";
import { createRefusalTally, isRefusalSummary, type RefusalKind, sourceAddress } from "./refusal-tally.js";

test("nothing refused: no summary", () => {
  expect(createRefusalTally().summarize(5000)).toBeUndefined();
});

test("the first refusal opens a window due 1 s later; the next ones say nothing", () => {
  const tally = createRefusalTally();
  expect(tally.note("rejected", "10.0.0.3", 100)).toBe(1000);
  expect(tally.note("timed out", "10.0.0.3", 200)).toBeUndefined();
  expect(tally.note("crowded out", "10.0.0.4", 300)).toBeUndefined();
  expect(tally.summarize(1100)).toBe(
    "refused 3 connections that did not authenticate in 1.0 s (1 rejected, 1 crowded out, 1 timed out); most from 10.0.0.3 (2)",
  );
  expect(tally.summarize(1200)).toBeUndefined();
});

test("after a summary, the next is due no sooner than 10 s after it", () => {
  const tally = createRefusalTally();
  tally.note("rejected", "a", 0);
  tally.summarize(1000);
  expect(tally.note("rejected", "a", 1500)).toBe(9500);
  expect(tally.summarize(11_000)).toBe(
    "refused 1 connection that did not authenticate in 9.5 s (1 rejected); most from a (1)",
  );
  // A refusal long after the last summary is said 1 s after it, not sooner.
  expect(tally.note("timed out", "a", 60_000)).toBe(1000);
});

test("kinds with no refusal are left out; the count names the busiest source", () => {
  const tally = createRefusalTally();
  for (let i = 0; i < 5; i++) tally.note("crowded out", "::ffff:10.11.0.3", i);
  tally.note("crowded out", "10.11.0.4", 9);
  expect(tally.summarize(1000)).toBe(
    "refused 6 connections that did not authenticate in 1.0 s (6 crowded out); most from 10.11.0.3 (5)",
  );
});

test("past maxSources, new sources count in the totals only", () => {
  const tally = createRefusalTally({ maxSources: 2 });
  tally.note("rejected", "a", 0);
  tally.note("rejected", "b", 0);
  for (let i = 0; i < 9; i++) tally.note("rejected", `c${i}`, 0);
  tally.note("rejected", "b", 0);
  expect(tally.summarize(1000)).toBe(
    "refused 12 connections that did not authenticate in 1.0 s (12 rejected); most from b (2)",
  );
});

test("property: the summaries' counts add up to every refusal noted, and at most one per window", () => {
  const kinds: RefusalKind[] = ["rejected", "crowded out", "timed out"];
  fc.assert(
    fc.property(
      fc.array(fc.record({ gap: fc.nat(3000), kind: fc.constantFrom(...kinds), source: fc.constantFrom("a", "b") })),
      (events) => {
        const tally = createRefusalTally();
        let now = 0;
        let due: number | undefined;
        const summaries: { at: number; line: string }[] = [];
        const flushUntil = (t: number) => {
          if (due !== undefined && due <= t) {
            const line = tally.summarize(due);
            if (line !== undefined) summaries.push({ at: due, line });
            due = undefined;
          }
        };
        for (const event of events) {
          now += event.gap;
          flushUntil(now);
          const inMs = tally.note(event.kind, event.source, now);
          if (inMs !== undefined) due = now + inMs;
        }
        flushUntil(Number.POSITIVE_INFINITY);
        const total = summaries.reduce((sum, s) => sum + Number(/refused (\d+)/.exec(s.line)?.[1]), 0);
        expect(total).toBe(events.length);
        for (let i = 1; i < summaries.length; i++)
          expect((summaries[i]?.at ?? 0) - (summaries[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(10_000);
        expect(summaries.every((s) => isRefusalSummary(s.line))).toBe(true);
      },
    ),
  );
});

test("isRefusalSummary tells a summary from a server's last words", () => {
  expect(isRefusalSummary("[node2 agent] refused 1 connection that did not authenticate in 1.0 s (1 rejected)")).toBe(
    true,
  );
  expect(isRefusalSummary("[node2 agent] error: EADDRINUSE")).toBe(false);
});

test("sourceAddress unmaps IPv4 and keeps IPv6", () => {
  expect(sourceAddress("::ffff:10.0.0.1")).toBe("10.0.0.1");
  expect(sourceAddress("fe80::1")).toBe("fe80::1");
});
