import { describe, expect, test } from "vitest";
import { nextRelayServeState, planWaitPing, type RelayServeInput, type RelayServeState } from "./relay-serve-state.js";

const ID = `sha256:${"a".repeat(64)}`;
const START: RelayServeState = { phase: "handshake" };
const run = (inputs: RelayServeInput[]): RelayServeState => inputs.reduce(nextRelayServeState, START);
const hello: RelayServeInput = { type: "established", node: "node2" };

describe("one child's connection to this node's relay", () => {
  test.each<[string, RelayServeInput[], RelayServeState]>([
    [
      "served once this node has the image",
      [
        hello,
        { type: "offer", offer: { kind: "pending" } },
        { type: "offer", offer: { kind: "ready", id: ID } },
        { type: "streamed", length: 5 },
        { type: "streamed", length: 7 },
        { type: "saved" },
      ],
      { phase: "sent", node: "node2", bytes: 12 },
    ],
    [
      "told when this node's own fetch failed",
      [hello, { type: "offer", offer: { kind: "failed", reason: "no such tag" } }],
      { phase: "unavailable", node: "node2", reason: "no such tag" },
    ],
    [
      "a hello the channel refused is dropped and never served",
      [
        { type: "closed", reason: "authentication failed (claimed node node2)", refusal: "rejected" },
        { type: "offer", offer: { kind: "ready", id: ID } },
      ],
      { phase: "dropped", reason: "authentication failed (claimed node node2)", stranger: "rejected" },
    ],
    [
      "a stranger that says nothing in time: refused, counted as timed out",
      [{ type: "closed", reason: "no valid hello in time", refusal: "timed out" }],
      { phase: "dropped", reason: "no valid hello in time", stranger: "timed out" },
    ],
    [
      "a stranger that closes before its hello is gone, not refused",
      [{ type: "closed", reason: "connection closed" }],
      { phase: "dropped", reason: "connection closed", stranger: "gone" },
    ],
    ["an offer before the hello waits for it", [{ type: "offer", offer: { kind: "ready", id: ID } }], START],
    [
      "a save that fails drops the child (it falls back)",
      [hello, { type: "offer", offer: { kind: "ready", id: ID } }, { type: "save-failed", reason: "EIO" }],
      { phase: "dropped", reason: "saving the image for node2 failed: EIO" },
    ],
    [
      "a child that goes away mid-stream",
      [hello, { type: "offer", offer: { kind: "ready", id: ID } }, { type: "closed", reason: "ECONNRESET" }],
      { phase: "dropped", reason: "ECONNRESET" },
    ],
    [
      "nothing after the end",
      [hello, { type: "offer", offer: { kind: "ready", id: ID } }, { type: "saved" }, { type: "closed", reason: "x" }],
      { phase: "sent", node: "node2", bytes: 0 },
    ],
  ])("%s", (_name, inputs, expected) => {
    expect(run(inputs)).toEqual(expected);
  });
});

test.each([
  // idle, socket full → send a wait now?, next look in
  [0, false, { send: false, nextInMs: 2000 }],
  [1500, false, { send: false, nextInMs: 500 }],
  [2000, false, { send: true, nextInMs: 2000 }],
  [5000, false, { send: true, nextInMs: 2000 }],
  // A full socket is busy with the archive: no wait on top, look again soon.
  [5000, true, { send: false, nextInMs: 1 }],
] as const)("after %i ms quiet (socket full: %s) the wait ping plans %j", (idleMs, full, expected) => {
  expect(planWaitPing(idleMs, 2000, full)).toEqual(expected);
});
