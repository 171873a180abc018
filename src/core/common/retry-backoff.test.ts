import { expect, test } from "vitest";
import { type BackoffPolicy, nextRetryDelayMs, parseRetryAfter, REGISTRY_BACKOFF } from "./retry-backoff.js";

const policy: BackoffPolicy = { attempts: 4, baseMs: 1000, maxMs: 3000, maxRetryAfterMs: 10_000 };

test.each<[string, Partial<Parameters<typeof nextRetryDelayMs>[0]>, number | undefined]>([
  ["first retry, no jitter draw", { attempt: 1, random: 0 }, 500],
  ["first retry, top of the jitter", { attempt: 1, random: 0.999 }, 1000],
  ["second retry doubles", { attempt: 2, random: 0.5 }, 1500],
  ["capped at maxMs", { attempt: 3, random: 1 }, 3000],
  ["no tries left", { attempt: 4, random: 0 }, undefined],
  ["Retry-After longer than the back-off wins", { attempt: 1, random: 0, retryAfterMs: 7000 }, 7000],
  ["Retry-After shorter: the back-off", { attempt: 2, random: 0, retryAfterMs: 10 }, 1000],
  ["Retry-After too long: give up now", { attempt: 1, random: 0, retryAfterMs: 10_001 }, undefined],
  ["the deadline comes first", { attempt: 1, random: 0, nowMs: 100, deadlineMs: 600 }, undefined],
  ["the deadline is later", { attempt: 1, random: 0, nowMs: 100, deadlineMs: 601 }, 500],
])("%s", (_, input, expected) => {
  expect(nextRetryDelayMs({ policy, random: 0, nowMs: 0, attempt: 1, ...input })).toBe(expected);
});

test("the registry policy: 5 tries, pauses 1, 2, 4, 8 s at the middle of the jitter", () => {
  const delays = [1, 2, 3, 4, 5].map((attempt) =>
    nextRetryDelayMs({ attempt, policy: REGISTRY_BACKOFF, random: 1, nowMs: 0 }),
  );
  expect(delays).toEqual([1000, 2000, 4000, 8000, undefined]);
});

test.each([
  [undefined, undefined],
  ["120", 120_000],
  [" 0 ", 0],
  ["Wed, 21 Oct 2015 07:28:10 GMT", 10_000],
  ["Wed, 21 Oct 2015 07:27:00 GMT", 0],
  ["soon", undefined],
])("parseRetryAfter(%j) = %s", (header, expected) => {
  expect(parseRetryAfter(header, Date.parse("Wed, 21 Oct 2015 07:28:00 GMT"))).toBe(expected);
});
