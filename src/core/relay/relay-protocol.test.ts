import { describe, expect, test } from "vitest";
import { MAX_DATA_BYTES } from "../channel/index.js";
import {
  encodeRelayControl,
  encodeRelayHeader,
  parseRelayControl,
  RelayFrame,
  relayServerFrameLimit,
} from "./relay-protocol.js";

const ID = `sha256:${"c".repeat(64)}`;

describe("relay messages", () => {
  test("round trip", () => {
    const unavailable = { reason: "no such tag" };
    expect(parseRelayControl(RelayFrame.unavailable, encodeRelayControl(RelayFrame.unavailable, unavailable))).toEqual(
      unavailable,
    );
    expect(parseRelayControl(RelayFrame.start, Buffer.from(JSON.stringify({ id: ID, size: 3 })))).toEqual({
      id: ID,
      size: 3,
    });
  });

  test.each([
    [RelayFrame.unavailable, { reason: "x", extra: 1 }],
    [RelayFrame.start, { id: "latest" }],
    [RelayFrame.end, { bytes: -1 }],
  ])("refuses a malformed %i", (type, value) => {
    expect(parseRelayControl(type, Buffer.from(JSON.stringify(value)))).toBeUndefined();
  });

  test("not JSON", () => {
    expect(parseRelayControl(RelayFrame.end, Buffer.from("{"))).toBeUndefined();
  });

  test("a header", () => {
    expect([...encodeRelayHeader(RelayFrame.data, 258)]).toEqual([0x37, 0, 0, 1, 2]);
  });
});

describe("which frames each side takes when", () => {
  // Before the welcome the channel's handshake reads (core/channel/), with its own limits.
  test("the client: no data before start", () => {
    expect(relayServerFrameLimit("waiting", RelayFrame.data)).toBeUndefined();
    expect(relayServerFrameLimit("waiting", RelayFrame.wait)).toBe(0);
    expect(relayServerFrameLimit("receiving", RelayFrame.data)).toBe(MAX_DATA_BYTES);
    expect(relayServerFrameLimit("receiving", RelayFrame.start)).toBeUndefined();
  });
});
