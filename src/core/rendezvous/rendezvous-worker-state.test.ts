import { expect, test } from "vitest";
import { PROTOCOL_VERSION } from "./rendezvous-protocol.js";
import { checkMasterSilence, nextWorkerState, type WorkerInput, type WorkerState } from "./rendezvous-worker-state.js";

const STATES = {
  handshake: { phase: "handshake" },
  refused: { phase: "refused", error: "earlier", timedOut: false },
  joined: { phase: "joined" },
  "joined, ports told": { phase: "joined", moved: [] },
  started: { phase: "started" },
  settled: { phase: "settled", outcome: { kind: "done", exitCode: 0 } },
} satisfies Record<string, WorkerState>;
type Name = keyof typeof STATES;

const INPUTS = {
  established: { type: "established" },
  "another version": { type: "handshake-failed", failure: { kind: "version", theirs: 1, ours: PROTOCOL_VERSION } },
  "forged welcome": { type: "handshake-failed", failure: { kind: "forged" } },
  reject: { type: "handshake-failed", failure: { kind: "rejected", reason: "n1 already joined" } },
  ping: { type: "ping" },
  go: { type: "go" },
  "remote-ports": { type: "remote-ports", moved: [{ node: "n3", port: 23456 }] },
  done: { type: "done", exitCode: 3 },
  abort: { type: "abort", reason: "scancel" },
  closed: { type: "closed", reason: "ECONNRESET" },
  "timed-out": { type: "timed-out", reason: "silence" },
  leave: { type: "leave" },
} satisfies Record<string, WorkerInput>;
type Input = keyof typeof INPUTS;

const refused = (error: string, timedOut = false): WorkerState => ({ phase: "refused", error, timedOut });
const lost = (reason: string): WorkerState => ({ phase: "settled", outcome: { kind: "lost", reason } });
const versionError = `the master speaks protocol 1, this node ${PROTOCOL_VERSION} (use one srun-docker version on every node)`;
const handshakeEnds = {
  reject: refused("the master refused this node: n1 already joined"),
  closed: refused("ECONNRESET"),
  "timed-out": refused("silence", true),
};
const sessionEnds = {
  done: { phase: "settled", outcome: { kind: "done", exitCode: 3 } },
  abort: { phase: "settled", outcome: { kind: "abort", reason: "scancel" } },
  closed: lost("the master closed the connection without done (ECONNRESET)"),
  "timed-out": lost("silence"),
  leave: lost("left by this node"),
} satisfies Partial<Record<Input, WorkerState>>;

// Every state × input; a missing entry means the input changes nothing there. Before the
// welcome, done/abort/go from the peer count for nothing (the channel's handshake reads alone,
// core/channel/client.ts); after it, the handshake's outcomes count for nothing, and so do the
// remote ports after go.
const TABLE: Record<Name, Partial<Record<Input, WorkerState>>> = {
  handshake: {
    established: { phase: "joined" },
    "another version": refused(versionError),
    "forged welcome": refused("the peer on the rendezvous port failed authentication (not our master)"),
    ...handshakeEnds,
  },
  refused: {},
  joined: {
    go: { phase: "started" },
    "remote-ports": { phase: "joined", moved: [{ node: "n3", port: 23456 }] },
    ...sessionEnds,
  },
  // The master says the ports once; a second time says nothing new.
  "joined, ports told": { go: { phase: "started" }, ...sessionEnds },
  started: sessionEnds,
  settled: {},
};

const rows = (Object.keys(STATES) as Name[]).flatMap((name) =>
  (Object.keys(INPUTS) as Input[]).map((input) => [name, input, TABLE[name][input]] as const),
);

test.each(rows)("%s + %s → %j", (name, input, expected) => {
  const state = STATES[name];
  const next = nextWorkerState(state, INPUTS[input]);
  if (expected === undefined) expect(next).toBe(state);
  else expect(next).toEqual(expected);
});

test("the welcome's MASTER_PORT stays with the session through go and the ports", () => {
  let state = nextWorkerState({ phase: "handshake" }, { type: "established", masterPort: 29400 });
  expect(state).toEqual({ phase: "joined", masterPort: 29400 });
  state = nextWorkerState(state, { type: "remote-ports", moved: [] });
  expect(state).toEqual({ phase: "joined", masterPort: 29400, moved: [] });
  expect(nextWorkerState(state, { type: "go" })).toEqual({ phase: "started", masterPort: 29400 });
});

test.each([
  [0, { type: "ping" }],
  [6000, { type: "ping" }],
  [6001, { type: "timed-out", reason: "no heartbeat from the master for 6.0 s" }],
  [12_345, { type: "timed-out", reason: "no heartbeat from the master for 12.3 s" }],
] as const)("after %i ms of silence (lost after 6 s) the heartbeat says %j", (silentMs, expected) => {
  expect(checkMasterSilence(silentMs, 6000)).toEqual(expected);
});
