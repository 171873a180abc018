import { expect, test } from "vitest";
import type { ContainerEnd } from "./container-end.js";
import { type ContainerEvent, type ContainerState, nextContainerState, removalSteps } from "./container-lifecycle.js";

const KILLED: ContainerEnd = { kind: "exited", code: 137 };
const GONE: ContainerEnd = { kind: "gone" };

const idle: ContainerState = { phase: "idle" };
const starting: ContainerState = { phase: "starting" };
const up: ContainerState = { phase: "up" };
const died: ContainerState = { phase: "died", end: KILLED };
const removing: ContainerState = { phase: "removing" };
const removingDead: ContainerState = { phase: "removing", end: KILLED };
const removed: ContainerState = { phase: "removed" };

const STATES = { idle, starting, up, died, removing, removingDead, removed } as const;
const EVENTS = {
  start: "start",
  created: "created",
  died: { died: KILLED },
  remove: "remove",
  removed: "removed",
  "remove-failed": "remove-failed",
} as const satisfies Record<string, ContainerEvent>;

// Every state × event; absent marks what cannot happen (the caller treats it as a bug).
const TABLE: Record<keyof typeof STATES, Partial<Record<keyof typeof EVENTS, ContainerState>>> = {
  idle: { start: starting, remove: removed },
  starting: { created: up, remove: removing },
  up: { died, remove: removing },
  died: { remove: removingDead },
  removing: { created: removing, died: removing, remove: removing, removed, "remove-failed": up },
  removingDead: {
    created: removingDead,
    died: removingDead,
    remove: removingDead,
    removed,
    "remove-failed": died,
  },
  removed: { remove: removed },
};

const CASES = Object.entries(STATES).flatMap(([name, state]) =>
  Object.entries(EVENTS).map(
    ([eventName, event]) =>
      [name, eventName, state, event, TABLE[name as keyof typeof STATES][eventName as keyof typeof EVENTS]] as const,
  ),
);

test.each(CASES)("%s + %s", (_name, _event, state, event, expected) => {
  expect(nextContainerState(state, event)).toEqual(expected);
});

test("the death carries how the container ended, through a removal that fails", () => {
  const dead = nextContainerState(up, { died: GONE });
  expect(dead).toEqual({ phase: "died", end: GONE });
  const back = nextContainerState(nextContainerState(dead ?? up, "remove") ?? up, "remove-failed");
  expect(back).toEqual({ phase: "died", end: GONE });
});

test("no path leads from a removal or a death back to a start", () => {
  for (const state of [died, removing, removingDead, removed])
    expect(nextContainerState(state, "start")).toBeUndefined();
});

// A `run` never asked made nothing; one cut short may still land its container a moment later.
test.each([
  ["not-asked", { remove: false, awaitLateArrival: false }],
  ["asked", { remove: true, awaitLateArrival: false }],
  ["interrupted", { remove: true, awaitLateArrival: true }],
] as const)("a removal after a run %s makes %j", (run, expected) => {
  expect(removalSteps(run)).toEqual(expected);
});
