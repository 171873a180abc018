import { describe, expect, test } from "vitest";
import { MAX_CONTROL_BYTES, MAX_DATA_BYTES } from "./agent-frames.js";
import {
  encodeRelayControl,
  encodeRelayHeader,
  parseRelayControl,
  RelayFrame,
  relayClientFrameLimit,
  relayServerFrameLimit,
} from "./relay-protocol.js";

const ID = `sha256:${"c".repeat(64)}`;

describe("relay messages", () => {
  test("round trip", () => {
    const hello = { node: "node2", nonce: "1".repeat(32), mac: "2".repeat(64) };
    expect(parseRelayControl(RelayFrame.hello, encodeRelayControl(RelayFrame.hello, hello))).toEqual(hello);
    expect(parseRelayControl(RelayFrame.start, Buffer.from(JSON.stringify({ id: ID, size: 3 })))).toEqual({
      id: ID,
      size: 3,
    });
  });

  test.each([
    [RelayFrame.hello, { node: "a|b", nonce: "1".repeat(32), mac: "2".repeat(64) }],
    [RelayFrame.hello, { node: "n", nonce: "1".repeat(32), mac: "2".repeat(64), extra: 1 }],
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
  test("the server: one hello of a few KiB, then nothing", () => {
    expect(relayClientFrameLimit(false, RelayFrame.hello)).toBe(MAX_CONTROL_BYTES);
    expect(relayClientFrameLimit(false, RelayFrame.data)).toBeUndefined();
    expect(relayClientFrameLimit(true, RelayFrame.hello)).toBeUndefined();
  });

  test("the client: no data before start, no megabyte before the welcome", () => {
    expect(relayServerFrameLimit("handshake", RelayFrame.data)).toBeUndefined();
    expect(relayServerFrameLimit("handshake", RelayFrame.welcome)).toBe(MAX_CONTROL_BYTES);
    expect(relayServerFrameLimit("waiting", RelayFrame.data)).toBeUndefined();
    expect(relayServerFrameLimit("waiting", RelayFrame.wait)).toBe(0);
    expect(relayServerFrameLimit("receiving", RelayFrame.data)).toBe(MAX_DATA_BYTES);
    expect(relayServerFrameLimit("receiving", RelayFrame.start)).toBeUndefined();
  });
});
