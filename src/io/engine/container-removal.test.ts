import { expect, test } from "vitest";
import type { Timers } from "../process/index.js";
import { type RemovalAttempt, type RemovalEngine, removeAllUntilGone, removeUntilGone } from "./container-removal.js";

/** A clock that only moves when the code under test sleeps. */
function fakeTimers(): Timers & { elapsed(): number } {
  let now = 0;
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      now += ms;
      queueMicrotask(callback);
      return 0;
    },
    clearTimeout: () => {},
    elapsed: () => now,
  };
}

/** An engine that answers each call from a script, then repeats the last answer. */
function scriptedEngine(
  attempts: RemovalAttempt[],
  exists: Array<boolean | string>,
): RemovalEngine & { calls: string[] } {
  const calls: string[] = [];
  const next = <T>(list: T[]): T => (list.length > 1 ? (list.shift() as T) : (list[0] as T));
  return {
    calls,
    removeOnce: async (name) => {
      calls.push(`rm ${name}`);
      return next(attempts);
    },
    exists: async (name) => {
      calls.push(`exists ${name}`);
      return next(exists);
    },
  };
}

test.each<[string, RemovalAttempt[], Array<boolean | string>, string[]]>([
  ["removed and confirmed at once", [{ kind: "gone" }], [false], ["rm c", "exists c"]],
  [
    "an auto-removal under way, then gone",
    [{ kind: "in-progress" }],
    [true, false],
    ["rm c", "exists c", "rm c", "exists c"],
  ],
  [
    "a failed attempt is retried",
    [{ kind: "failed", reason: "daemon busy" }, { kind: "gone" }],
    [false],
    ["rm c", "rm c", "exists c"],
  ],
  ["said gone but still listed: retried", [{ kind: "gone" }], [true, false], ["rm c", "exists c", "rm c", "exists c"]],
])("%s", async (_name, attempts, exists, calls) => {
  const engine = scriptedEngine(attempts, exists);
  expect(await removeUntilGone(engine, "c", { timers: fakeTimers() })).toBeUndefined();
  expect(engine.calls).toEqual(calls);
});

test("gives up at the deadline with the last reason, never a silent success", async () => {
  const timers = fakeTimers();
  const engine = scriptedEngine([{ kind: "failed", reason: "permission denied" }], [true]);
  expect(await removeUntilGone(engine, "c", { timers, deadlineMs: 1000, retryDelayMs: 100 })).toEqual({
    name: "c",
    reason: "permission denied",
  });
  expect(timers.elapsed()).toBeLessThanOrEqual(1000);
  expect(engine.calls.length).toBeGreaterThan(5);
});

test("an engine that throws counts as a failed attempt", async () => {
  const engine: RemovalEngine = {
    removeOnce: async () => {
      throw new Error("connect ENOENT /var/run/docker.sock");
    },
    exists: async () => "unreachable",
  };
  expect(await removeUntilGone(engine, "c", { timers: fakeTimers(), deadlineMs: 300 })).toEqual({
    name: "c",
    reason: "Error: connect ENOENT /var/run/docker.sock",
  });
});

test("removeAllUntilGone reports only the containers that stayed", async () => {
  const engine: RemovalEngine = {
    removeOnce: async (name) => (name === "stuck" ? { kind: "failed", reason: "device busy" } : { kind: "gone" }),
    exists: async (name) => name === "stuck",
  };
  expect(await removeAllUntilGone(engine, ["a", "stuck", "b"], { timers: fakeTimers(), deadlineMs: 300 })).toEqual([
    { name: "stuck", reason: "device busy" },
  ]);
});
