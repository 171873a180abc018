import fc from "fast-check";
import { expect, test } from "vitest";
import { nextServerState, receivePhaseOf, type ServerInput, type ServerState } from "./agent-server-state.js";

const nonce = "d".repeat(32);

const STATES = {
  challenged: { phase: "challenged", serverNonce: nonce },
  authenticated: { phase: "authenticated" },
  running: { phase: "running" },
  exited: { phase: "exited", status: { code: 0 } },
  dropped: { phase: "dropped", reason: "earlier", spawned: false },
} satisfies Record<string, ServerState>;
type Name = keyof typeof STATES;

const INPUTS = {
  "hello authentic": { type: "hello", verdict: "authentic", node: "node1" },
  "hello forged": { type: "hello", verdict: "forged", node: "node1" },
  "hello other node": { type: "hello", verdict: "other-node", node: "node9" },
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
// Before an authentic hello the peer is a stranger: its end is counted (or, gone, not said).
const strangerEnds = {
  closed: stranger("closed during the handshake (ECONNRESET)", "gone"),
  "timed-out": stranger("no valid hello in time", "timed out"),
  malformed: stranger("malformed handshake (junk)", "rejected"),
  shutdown: stranger("the agent is shutting down", "gone"),
};
const handshakeEnds = (timeout: string) => ({
  closed: dropped("closed during the handshake (ECONNRESET)"),
  "timed-out": dropped(timeout),
  malformed: dropped("malformed handshake (junk)"),
  shutdown: dropped("the agent is shutting down"),
});

// Every state × input; a missing entry means the input changes nothing there. Only an
// authentic hello leads out of `challenged` to anything but `dropped`; only `authenticated`
// leads to `running`; a connection that spawned something is dropped with `spawned`. Only a
// connection still in its handshake can be crowded out.
const TABLE: Record<Name, Partial<Record<Input, ServerState>>> = {
  challenged: {
    "hello authentic": { phase: "authenticated" },
    "hello forged": {
      ...stranger("authentication failed (claimed node node1)", "rejected"),
      tell: "authentication failed (another job's secret, or not srun-docker)",
    },
    "hello other node": dropped("asked for node9", false, "this is node1, not node9"),
    exec: stranger("exec before authentication", "rejected"),
    crowded: stranger("too many connections in their handshake at once", "crowded out"),
    ...strangerEnds,
  },
  authenticated: {
    "hello authentic": dropped("a second hello"),
    "hello forged": dropped("a second hello"),
    "hello other node": dropped("a second hello"),
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
  const next = nextServerState(state, INPUTS[input], "node1");
  if (expected === undefined) expect(next).toBe(state);
  else expect(next).toEqual(expected);
});

test("property: without an authentic hello, no sequence of inputs reaches running", () => {
  const unauthenticated = (Object.keys(INPUTS) as Input[]).filter((input) => input !== "hello authentic");
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...unauthenticated), { maxLength: 12 }), (inputs) => {
      let state: ServerState = STATES.challenged;
      for (const input of inputs) {
        state = nextServerState(state, INPUTS[input], "node1");
        expect(state.phase).not.toBe("running");
      }
    }),
  );
});

test.each<[Name, string | undefined]>([
  ["challenged", "handshake"],
  ["authenticated", "exec"],
  ["running", "running"],
  ["exited", "running"],
  ["dropped", undefined],
])("%s receives as %s", (name, phase) => {
  expect(receivePhaseOf(STATES[name])).toBe(phase);
});
