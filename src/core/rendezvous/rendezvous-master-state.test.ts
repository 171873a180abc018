import { expect, test } from "vitest";
import { isShuttingDown, type MasterInput, type MasterState, nextMasterState } from "./rendezvous-master-state.js";

const abort = { type: "abort", reason: "bye" } as const;

const STATES = {
  gathering: { phase: "gathering" },
  failed: { phase: "failed" },
  ready: { phase: "ready" },
  started: { phase: "started" },
  "lingering(ok)": { phase: "lingering", farewell: abort, wasReady: true },
  "lingering(failed)": { phase: "lingering", farewell: abort, wasReady: false },
  "closing(ok)": { phase: "closing", wasReady: true },
  "closing(failed)": { phase: "closing", wasReady: false },
} satisfies Record<string, MasterState>;
type Name = keyof typeof STATES;

const INPUTS = {
  "all-ready": { type: "all-ready" },
  "ready-failed": { type: "ready-failed" },
  start: { type: "start" },
  linger: { type: "linger", farewell: abort },
  close: { type: "close" },
} satisfies Record<string, MasterInput>;
type Input = keyof typeof INPUTS;

// Every state × input: the next state, "=" when the input changes nothing, "bug" when it
// cannot happen (the master throws an internal error).
const TABLE: Record<Name, Record<Input, Name | "=" | "bug">> = {
  gathering: { "all-ready": "ready", "ready-failed": "failed", start: "bug", linger: "bug", close: "bug" },
  failed: {
    "all-ready": "=",
    "ready-failed": "=",
    start: "bug",
    linger: "lingering(failed)",
    close: "closing(failed)",
  },
  ready: { "all-ready": "=", "ready-failed": "=", start: "started", linger: "lingering(ok)", close: "closing(ok)" },
  started: { "all-ready": "=", "ready-failed": "=", start: "=", linger: "lingering(ok)", close: "closing(ok)" },
  "lingering(ok)": { "all-ready": "=", "ready-failed": "=", start: "=", linger: "=", close: "closing(ok)" },
  "lingering(failed)": { "all-ready": "=", "ready-failed": "=", start: "bug", linger: "=", close: "closing(failed)" },
  "closing(ok)": { "all-ready": "=", "ready-failed": "=", start: "=", linger: "=", close: "=" },
  "closing(failed)": { "all-ready": "=", "ready-failed": "=", start: "bug", linger: "=", close: "=" },
};

const rows = (Object.keys(STATES) as Name[]).flatMap((name) =>
  (Object.keys(INPUTS) as Input[]).map((input) => [name, input, TABLE[name][input]] as const),
);

test.each(rows)("%s + %s → %s", (name, input, expected) => {
  const state = STATES[name];
  const next = nextMasterState(state, INPUTS[input]);
  if (expected === "bug") expect(next).toBeUndefined();
  else if (expected === "=") expect(next).toBe(state);
  else expect(next).toEqual(STATES[expected]);
});

test("the farewell a late joiner gets is the one the linger started with", () => {
  const done = { type: "done", exitCode: 3 } as const;
  expect(nextMasterState({ phase: "started" }, { type: "linger", farewell: done })).toEqual({
    phase: "lingering",
    farewell: done,
    wasReady: true,
  });
});

test("only the farewell states ignore the workers", () => {
  const shutting = (Object.keys(STATES) as Name[]).filter((name) => isShuttingDown(STATES[name]));
  expect(shutting).toEqual(["lingering(ok)", "lingering(failed)", "closing(ok)", "closing(failed)"]);
});

test("no path leads from a shutdown back to a phase that watches workers", () => {
  for (const name of ["lingering(ok)", "closing(ok)"] as const) {
    for (const input of Object.values(INPUTS)) {
      const next = nextMasterState(STATES[name], input);
      expect(next === undefined || isShuttingDown(next)).toBe(true);
    }
  }
});
