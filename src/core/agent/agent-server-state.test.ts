import fc from "fast-check";
import { expect, test } from "vitest";
import { STDIN_WINDOW_BYTES } from "./agent-messages.js";
import {
  FRESH_STDIN_WINDOW,
  nextServerState,
  receivePhaseOf,
  receiveStdin,
  type ServerInput,
  type ServerState,
  type StdinWindow,
  takeStdin,
} from "./agent-server-state.js";

const STATES = {
  handshake: { phase: "handshake" },
  authenticated: { phase: "authenticated" },
  running: { phase: "running" },
  exited: { phase: "exited", status: { code: 0 } },
  dropped: { phase: "dropped", reason: "earlier", spawned: false },
} satisfies Record<string, ServerState>;
type Name = keyof typeof STATES;

const INPUTS = {
  established: { type: "established" },
  "refused stranger": { type: "refused", reason: "authentication failed (claimed node node1)", stranger: "rejected" },
  "refused told": { type: "refused", reason: "asked for node9", tell: "this is node1, not node9" },
  exec: { type: "exec" },
  "child-exited": { type: "child-exited", status: { signal: 15 } },
  closed: { type: "closed", reason: "ECONNRESET" },
  "timed-out": { type: "timed-out" },
  malformed: { type: "malformed", reason: "junk" },
  shutdown: { type: "shutdown" },
  crowded: { type: "crowded" },
} satisfies Record<string, ServerInput>;
type Input = keyof typeof INPUTS;

const dropped = (reason: string, spawned = false, tell?: string): ServerState =>
  tell === undefined ? { phase: "dropped", reason, spawned } : { phase: "dropped", reason, tell, spawned };
type Dropped = Extract<ServerState, { phase: "dropped" }>;
const stranger = (reason: string, kind: NonNullable<Dropped["stranger"]>): Dropped => ({
  phase: "dropped",
  reason,
  spawned: false,
  stranger: kind,
});
const handshakeEnds = (timeout: string) => ({
  closed: dropped("closed during the handshake (ECONNRESET)"),
  "timed-out": dropped(timeout),
  malformed: dropped("malformed handshake (junk)"),
  shutdown: dropped("the agent is shutting down"),
});

// Every state × input; a missing entry means the input changes nothing there. Only the
// channel's established handshake leads out of `handshake` to anything but `dropped` (the
// handshake's own refusals are core/channel/server.ts's, tested there); only `authenticated`
// leads to `running`; a connection that spawned something is dropped with `spawned`.
const TABLE: Record<Name, Partial<Record<Input, ServerState>>> = {
  handshake: {
    established: { phase: "authenticated" },
    "refused stranger": stranger("authentication failed (claimed node node1)", "rejected"),
    "refused told": dropped("asked for node9", false, "this is node1, not node9"),
  },
  authenticated: {
    exec: { phase: "running" },
    ...handshakeEnds("no command in time after authentication"),
  },
  running: {
    "child-exited": { phase: "exited", status: { signal: 15 } },
    closed: dropped("the client went away (ECONNRESET)", true),
    malformed: dropped("malformed input from the client (junk)", true),
    shutdown: dropped("the agent is shutting down", true),
  },
  exited: {},
  dropped: {},
};

const rows = (Object.keys(STATES) as Name[]).flatMap((name) =>
  (Object.keys(INPUTS) as Input[]).map((input) => [name, input, TABLE[name][input]] as const),
);

test.each(rows)("%s + %s → %j", (name, input, expected) => {
  const state = STATES[name];
  const next = nextServerState(state, INPUTS[input]);
  if (expected === undefined) expect(next).toBe(state);
  else expect(next).toEqual(expected);
});

test("property: without an established channel, no sequence of inputs reaches running", () => {
  const unauthenticated = (Object.keys(INPUTS) as Input[]).filter((input) => input !== "established");
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...unauthenticated), { maxLength: 12 }), (inputs) => {
      let state: ServerState = STATES.handshake;
      for (const input of inputs) {
        state = nextServerState(state, INPUTS[input]);
        expect(state.phase).not.toBe("running");
      }
    }),
  );
});

test.each<[Name, string | undefined]>([
  ["handshake", undefined],
  ["authenticated", "exec"],
  ["running", "running"],
  ["exited", "running"],
  ["dropped", undefined],
])("%s receives as %s", (name, phase) => {
  expect(receivePhaseOf(STATES[name])).toBe(phase);
});

const WINDOW = STDIN_WINDOW_BYTES;

test("input past the granted window is refused, up to it is taken", () => {
  expect(receiveStdin(FRESH_STDIN_WINDOW, WINDOW)).toEqual({ received: WINDOW, taken: 0, granted: WINDOW });
  expect(receiveStdin(FRESH_STDIN_WINDOW, WINDOW + 1)).toBeUndefined();
});

test.each([
  // received, taken before, taken now → grant: a quarter of the window taken, or all that came.
  ["a small write taken whole", 100, 0, 100, 100],
  ["part of a big write", WINDOW, 0, WINDOW / 8, 0],
  ["a quarter of the window", WINDOW, WINDOW / 8, WINDOW / 8, WINDOW / 4],
] as const)("%s: grants %i", (_name, received, takenBefore, bytes, grant) => {
  const window = { received, taken: takenBefore, granted: WINDOW };
  const next = takeStdin(window, bytes);
  expect(next).toEqual({ window: { received, taken: takenBefore + bytes, granted: WINDOW + grant }, grant });
});

test("the window moves on: after a grant the client may send that much more", () => {
  let window = receiveStdin(FRESH_STDIN_WINDOW, WINDOW) as StdinWindow;
  const taken = takeStdin(window, WINDOW);
  expect(taken.grant).toBe(WINDOW);
  window = taken.window;
  expect(receiveStdin(window, WINDOW)).toEqual({ received: 2 * WINDOW, taken: WINDOW, granted: 2 * WINDOW });
  expect(receiveStdin(window, WINDOW + 1)).toBeUndefined();
});
