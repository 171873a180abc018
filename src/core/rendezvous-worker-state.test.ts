import { expect, test } from "vitest";
import { PROTOCOL_VERSION } from "./rendezvous-protocol.js";
import { nextWorkerState, type WorkerInput, type WorkerState } from "./rendezvous-worker-state.js";

const nonce = "d".repeat(32);

const STATES = {
  connecting: { phase: "connecting" },
  authenticating: { phase: "authenticating", masterNonce: nonce },
  refused: { phase: "refused", error: "earlier", timedOut: false },
  joined: { phase: "joined" },
  "joined, ports told": { phase: "joined", moved: [] },
  started: { phase: "started" },
  settled: { phase: "settled", outcome: { kind: "done", exitCode: 0 } },
} satisfies Record<string, WorkerState>;
type Name = keyof typeof STATES;

const INPUTS = {
  challenge: { type: "challenge", v: PROTOCOL_VERSION, nonce },
  "challenge v1": { type: "challenge", v: 1, nonce },
  "welcome ok": { type: "welcome", authentic: true },
  "welcome forged": { type: "welcome", authentic: false },
  reject: { type: "reject", reason: "n1 already joined" },
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
const authenticating: WorkerState = STATES.authenticating;
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
// welcome, done/abort/go from the peer count for nothing (and a second challenge is ignored);
// after it, a reject counts for nothing, and so do the remote ports after go.
const TABLE: Record<Name, Partial<Record<Input, WorkerState>>> = {
  connecting: { challenge: authenticating, "challenge v1": refused(versionError), ...handshakeEnds },
  authenticating: {
    "welcome ok": { phase: "joined" },
    "welcome forged": refused("the peer on the rendezvous port failed authentication (not our master)"),
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
