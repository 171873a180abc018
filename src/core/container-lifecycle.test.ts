import { expect, test } from "vitest";
import { type ContainerEvent, type ContainerPhase, nextContainerPhase } from "./container-lifecycle.js";

const PHASES: ContainerPhase[] = ["idle", "starting", "up", "removing", "removed"];
const EVENTS: ContainerEvent[] = ["start", "created", "remove", "removed", "remove-failed"];

// Every phase × event; undefined marks what cannot happen (the caller treats it as a bug).
const TABLE: Record<ContainerPhase, Partial<Record<ContainerEvent, ContainerPhase>>> = {
  idle: { start: "starting", remove: "removed" },
  starting: { created: "up", remove: "removing" },
  up: { remove: "removing" },
  removing: { created: "removing", remove: "removing", removed: "removed", "remove-failed": "up" },
  removed: { remove: "removed" },
};

test.each(PHASES.flatMap((phase) => EVENTS.map((event) => [phase, event, TABLE[phase][event]] as const)))(
  "%s + %s → %s",
  (phase, event, expected) => {
    expect(nextContainerPhase(phase, event)).toBe(expected);
  },
);

test("no path leads from a removal back to a start", () => {
  for (const phase of ["removing", "removed"] as const) expect(nextContainerPhase(phase, "start")).toBeUndefined();
});
