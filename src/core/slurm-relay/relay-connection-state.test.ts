import { describe, expect, test } from "vitest";
import {
  nextRelayConnectionState,
  type RelayConnectionInput,
  type RelayConnectionState,
  relayReceivePhaseOf,
} from "./relay-connection-state.js";
import type { SlurmRequest } from "./slurm-relay-protocol.js";

const request: SlurmRequest = { program: "scontrol", args: ["ping"], cwd: "/", env: {} };
const handshake: RelayConnectionState = { phase: "handshake" };
const awaiting: RelayConnectionState = { phase: "awaiting-command" };
const running: RelayConnectionState = { phase: "running", request };
const exited: RelayConnectionState = { phase: "exited", status: { code: 0 } };
const ended: RelayConnectionState = { phase: "ended", reason: "x", ran: false };

describe("one connection to the Slurm relay", () => {
  test.each<[string, RelayConnectionState, RelayConnectionInput, RelayConnectionState]>([
    ["an authentic hello", handshake, { type: "established" }, awaiting],
    [
      "a forged hello",
      handshake,
      { type: "refused", reason: "authentication failed", stranger: "rejected" },
      { phase: "ended", reason: "authentication failed", ran: false, stranger: "rejected" },
    ],
    [
      "no hello in time",
      handshake,
      { type: "timed-out" },
      { phase: "ended", reason: "no command in time (during the handshake)", ran: false, stranger: "timed out" },
    ],
    ["a command before any hello: the channel's to refuse", handshake, { type: "command", request }, handshake],
    ["the command", awaiting, { type: "command", request }, running],
    [
      "a command of another shape",
      awaiting,
      { type: "malformed", reason: "bad" },
      { phase: "ended", reason: "malformed before any command (bad)", ran: false },
    ],
    [
      "no command in time",
      awaiting,
      { type: "timed-out" },
      { phase: "ended", reason: "no command in time (before any command)", ran: false },
    ],
    [
      "the relay closing before a command",
      awaiting,
      { type: "shutdown" },
      { phase: "ended", reason: "the relay is closing", ran: false },
    ],
    ["a second command is no input while one runs", running, { type: "command", request }, running],
    ["the timer, once the command runs", running, { type: "timed-out" }, running],
    [
      "the command's end",
      running,
      { type: "command-ended", status: { signal: 15 } },
      { phase: "exited", status: { signal: 15 } },
    ],
    [
      "the client gone while it runs",
      running,
      { type: "closed", reason: "closed" },
      { phase: "ended", reason: "the client went away (closed)", ran: true },
    ],
    [
      "bad input while it runs",
      running,
      { type: "malformed", reason: "bad signal" },
      { phase: "ended", reason: "malformed input from the client (bad signal)", ran: true },
    ],
    [
      "the relay closing while it runs",
      running,
      { type: "shutdown" },
      { phase: "ended", reason: "the relay is closing", ran: true },
    ],
    ["anything after the exit", exited, { type: "closed", reason: "closed" }, exited],
    ["anything after the end", ended, { type: "command", request }, ended],
  ])("%s", (_name, state, input, next) => {
    expect(nextRelayConnectionState(state, input)).toEqual(next);
  });

  test.each<[RelayConnectionState, string | undefined]>([
    [handshake, undefined],
    [awaiting, "command"],
    [running, "running"],
    [exited, "running"],
    [ended, undefined],
  ])("%j reads %s frames", (state, phase) => {
    expect(relayReceivePhaseOf(state)).toBe(phase);
  });
});
