import { describe, expect, test } from "vitest";
import {
  nextRelayFetchState,
  RELAY_FETCH_START,
  type RelayFetchInput,
  type RelayFetchState,
} from "./relay-fetch-state.js";
import { RELAY_PROTOCOL_VERSION } from "./relay-protocol.js";

const ID = `sha256:${"a".repeat(64)}`;
const OTHER = `sha256:${"b".repeat(64)}`;

const run = (inputs: RelayFetchInput[]): RelayFetchState =>
  inputs.reduce((state, input) => nextRelayFetchState(state, input, ID), RELAY_FETCH_START);

const handshake: RelayFetchInput[] = [{ type: "established" }];

describe("a child's fetch from its parent's relay", () => {
  test("the whole way: handshake, waits, the archive, its load", () => {
    expect(
      run([
        ...handshake,
        { type: "wait" },
        { type: "start", id: ID, size: 10 },
        { type: "data", length: 6 },
        { type: "wait" },
        { type: "data", length: 4 },
        { type: "end", bytes: 10 },
        { type: "broken", reason: "connection closed" },
        { type: "loaded", id: ID },
      ]),
    ).toEqual({ phase: "loaded", id: ID, bytes: 10 });
  });

  test.each<[string, RelayFetchInput[], RegExp]>([
    [
      "another protocol version",
      [{ type: "refused", failure: { kind: "version", theirs: 9, ours: RELAY_PROTOCOL_VERSION } }],
      /its relay speaks protocol 9, this node/,
    ],
    ["a server without the secret", [{ type: "refused", failure: { kind: "forged" } }], /failed authentication/],
    ["a reject", [{ type: "refused", failure: { kind: "rejected", reason: "busy" } }], /refused this node: busy/],
    ["data from a peer not yet proven", [{ type: "start", id: ID }], /"start" before its welcome/],
    ["a frame before the handshake ended", [{ type: "wait" }], /"wait" before its welcome/],
    [
      "the parent's own fetch failed",
      [...handshake, { type: "unavailable", reason: "pull failed" }],
      /no image to give: pull failed/,
    ],
    [
      "another image than the job's",
      [...handshake, { type: "start", id: OTHER }],
      /offered image bbbbbbbbbbbb, not the job's aaaaaaaaaaaa/,
    ],
    ["data before start", [...handshake, { type: "data", length: 1 }], /"data" while waiting/],
    [
      "a cut archive",
      [...handshake, { type: "start", id: ID }, { type: "data", length: 3 }, { type: "end", bytes: 5 }],
      /after 3 of 5 bytes/,
    ],
    [
      "the connection's end mid-archive",
      [...handshake, { type: "start", id: ID }, { type: "broken", reason: "ECONNRESET" }],
      /ECONNRESET/,
    ],
    ["silence", [...handshake, { type: "broken", reason: "no word from node2 for 15.0 s" }], /no word/],
    [
      "a load that gives another ID",
      [...handshake, { type: "start", id: ID }, { type: "end", bytes: 0 }, { type: "loaded", id: OTHER }],
      /loaded as bbbbbbbbbbbb/,
    ],
    [
      "a load that fails",
      [
        ...handshake,
        { type: "start", id: ID },
        { type: "end", bytes: 0 },
        { type: "load-failed", reason: "unexpected EOF" },
      ],
      /unexpected EOF/,
    ],
  ])("fails on %s", (_name, inputs, reason) => {
    const state = run(inputs);
    expect(state.phase).toBe("failed");
    expect(state.phase === "failed" ? state.reason : "").toMatch(reason);
  });

  test("the end is the end: nothing moves a failed or loaded fetch", () => {
    const failed = run([{ type: "broken", reason: "refused" }]);
    expect(nextRelayFetchState(failed, { type: "established" }, ID)).toBe(failed);
    const loaded = run([
      ...handshake,
      { type: "start", id: ID },
      { type: "end", bytes: 0 },
      { type: "loaded", id: ID },
    ]);
    expect(nextRelayFetchState(loaded, { type: "broken", reason: "x" }, ID)).toBe(loaded);
  });
});
