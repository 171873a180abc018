import { expect, test } from "vitest";
import { AGENT_PROTOCOL_VERSION } from "./agent-messages.js";
import {
  type ClientEnding,
  type ClientInput,
  type ClientState,
  clientEnding,
  clientExitCode,
  nextClientState,
} from "./agent-session-state.js";

const STATES = {
  handshake: { phase: "handshake" },
  running: { phase: "running", forwarded: 0 },
  "running, one signal forwarded": { phase: "running", forwarded: 1 },
  exited: { phase: "exited", status: { code: 3 } },
  failed: { phase: "failed", exitCode: 255, reason: "earlier" },
} satisfies Record<string, ClientState>;
type Name = keyof typeof STATES;

const INPUTS = {
  established: { type: "established" },
  "another version": { type: "refused", failure: { kind: "version", theirs: 1, ours: AGENT_PROTOCOL_VERSION } },
  "forged welcome": { type: "refused", failure: { kind: "forged" } },
  reject: { type: "refused", failure: { kind: "rejected", reason: "authentication failed" } },
  "malformed handshake": { type: "refused", failure: { kind: "malformed", reason: "a second challenge" } },
  exit: { type: "exit", status: { signal: 9 } },
  closed: { type: "closed", reason: "ECONNRESET" },
  "timed-out": { type: "timed-out", reason: "no answer" },
  malformed: { type: "malformed", reason: "junk" },
  SIGINT: { type: "signal", name: "SIGINT" },
  SIGTERM: { type: "signal", name: "SIGTERM" },
  SIGUSR1: { type: "pass-on", name: "SIGUSR1" },
  SIGUSR2: { type: "pass-on", name: "SIGUSR2" },
  "local-end": { type: "local-end", exitCode: 141 },
} satisfies Record<string, ClientInput>;
type Input = keyof typeof INPUTS;

const failed = (reason: string): ClientState => ({ phase: "failed", exitCode: 255, reason });
const quiet = (exitCode: number): ClientState => ({ phase: "failed", exitCode });
const handshakeEnds = {
  reject: failed("its agent refused the connection: authentication failed"),
  closed: failed("ECONNRESET"),
  "timed-out": failed("no answer"),
  malformed: failed("the program on its agent port sent something malformed (junk)"),
  exit: failed("the agent sent an exit before the handshake ended"),
  SIGINT: quiet(130),
  SIGTERM: quiet(143),
  "local-end": quiet(141),
} satisfies Partial<Record<Input, ClientState>>;
const runningEnds = {
  exit: { phase: "exited", status: { signal: 9 } },
  closed: failed("the connection was lost before the command ended (ECONNRESET)"),
  malformed: failed("the agent sent something malformed (junk)"),
  "local-end": quiet(141),
} satisfies Partial<Record<Input, ClientState>>;

// Every state × input; a missing entry means the input changes nothing there. The first
// signal while running is forwarded (and waited on), a second one ends the client. SIGUSR1 and
// SIGUSR2 are passed on while running (a new state of the same phase, so the io side sends
// them), every time, and end nothing; before the command runs they change nothing.
const TABLE: Record<Name, Partial<Record<Input, ClientState>>> = {
  handshake: {
    established: { phase: "running", forwarded: 0 },
    "another version": failed(
      `its agent speaks protocol 1, this one ${AGENT_PROTOCOL_VERSION} (use one srun-docker version on every node)`,
    ),
    "forged welcome": failed("the program on its agent port failed authentication (not this job's agent)"),
    "malformed handshake": failed("the program on its agent port sent something malformed (a second challenge)"),
    ...handshakeEnds,
  },
  running: {
    ...runningEnds,
    SIGINT: { phase: "running", forwarded: 1 },
    SIGTERM: { phase: "running", forwarded: 1 },
    SIGUSR1: { phase: "running", forwarded: 0 },
    SIGUSR2: { phase: "running", forwarded: 0 },
  },
  "running, one signal forwarded": {
    ...runningEnds,
    SIGINT: quiet(130),
    SIGTERM: quiet(143),
    SIGUSR1: { phase: "running", forwarded: 1 },
    SIGUSR2: { phase: "running", forwarded: 1 },
  },
  exited: {},
  failed: {},
};

const rows = (Object.keys(STATES) as Name[]).flatMap((name) =>
  (Object.keys(INPUTS) as Input[]).map((input) => [name, input, TABLE[name][input]] as const),
);

test.each(rows)("%s + %s → %j", (name, input, expected) => {
  const state = STATES[name];
  const next = nextClientState(state, INPUTS[input]);
  if (expected === undefined) expect(next).toBe(state);
  else expect(next).toEqual(expected);
});

test("a signal passed on while running is a new state, so the client sends it each time", () => {
  const running = STATES.running;
  const once = nextClientState(running, INPUTS.SIGUSR1);
  expect(once).not.toBe(running);
  expect(nextClientState(once, INPUTS.SIGUSR1)).not.toBe(once);
});

test.each<[ClientState, number | undefined]>([
  [STATES.handshake, undefined],
  [STATES.running, undefined],
  [{ phase: "exited", status: { code: 7 } }, 7],
  [{ phase: "exited", status: { signal: 9 } }, 137],
  [failed("x"), 255],
  [quiet(130), 130],
])("exit code of %j is %s", (state, code) => {
  expect(clientExitCode(state)).toBe(code);
});

// The caller tries the job's ports in turn: only a handshake that failed on the peer's doing
// lets it try the next; once the command ran, or a signal or our reader ended us, we are done.
test.each([
  [
    "a refused handshake",
    { phase: "failed", exitCode: 255, reason: "not this job's agent" },
    true,
    { kind: "not-agent", reason: "not this job's agent" },
  ],
  ["a signal in the handshake", { phase: "failed", exitCode: 130 }, true, { kind: "ran", exitCode: 130 }],
  ["a remote exit", { phase: "exited", status: { code: 3 } }, false, { kind: "ran", exitCode: 3 }],
  ["a remote signal", { phase: "exited", status: { signal: 9 } }, false, { kind: "ran", exitCode: 137 }],
  [
    "a lost connection",
    { phase: "failed", exitCode: 255, reason: "lost" },
    false,
    { kind: "ran", exitCode: 255, complaint: "lost" },
  ],
  ["a closed reader", { phase: "failed", exitCode: 141 }, false, { kind: "ran", exitCode: 141 }],
] satisfies [string, ClientState, boolean, ClientEnding][])("%s ends as %j", (_name, final, inHandshake, expected) => {
  expect(clientEnding(final, inHandshake)).toEqual(expected);
});
