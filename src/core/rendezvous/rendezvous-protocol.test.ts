import { describe, expect, it } from "vitest";
import { createFrameDecoder } from "../channel/index.js";
import {
  encodeMessage,
  isValidNodeName,
  MAX_MESSAGE_BYTES,
  type MasterMessage,
  messageFrameLimit,
  parseHelloAbout,
  parseMasterMessage,
  parseWelcomeAbout,
  parseWorkerMessage,
  RENDEZVOUS_MESSAGE,
  toWireExitCode,
  type WorkerMessage,
} from "./rendezvous-protocol.js";

/** A message as the other side reads it: the payload of its one frame. */
const wire = (message: MasterMessage | WorkerMessage): string => encodeMessage(message).subarray(5).toString("utf8");

describe("framing", () => {
  it("puts each message in one frame, read back whole however the bytes are cut", () => {
    const decoder = createFrameDecoder(messageFrameLimit);
    const bytes = Buffer.concat([encodeMessage({ type: "ping" }), encodeMessage({ type: "go" })]);
    decoder.push(bytes.subarray(0, 7));
    expect(decoder.next()).toBeUndefined();
    decoder.push(bytes.subarray(7));
    const first = decoder.next();
    const second = decoder.next();
    expect(first?.kind === "frame" && parseMasterMessage(first.frame.payload.toString())).toEqual({ type: "ping" });
    expect(second?.kind === "frame" && parseMasterMessage(second.frame.payload.toString())).toEqual({ type: "go" });
  });
  it("refuses an overlong message and any other frame type", () => {
    expect(messageFrameLimit(RENDEZVOUS_MESSAGE)).toBe(MAX_MESSAGE_BYTES);
    expect(messageFrameLimit(0x02)).toBeUndefined();
    const decoder = createFrameDecoder(messageFrameLimit);
    const header = Buffer.alloc(5);
    header.writeUInt8(RENDEZVOUS_MESSAGE, 0);
    header.writeUInt32BE(MAX_MESSAGE_BYTES + 1, 1);
    decoder.push(header);
    expect(decoder.next()).toMatchObject({ kind: "error" });
  });
});

describe("parse*Message", () => {
  it.each([
    "",
    "not json",
    "null",
    "[]",
    '{"type":"done"}',
    '{"type":"done","exitCode":256}',
    '{"type":"challenge","v":1,"nonce":"xyz"}',
    '{"type":"welcome","mac":"00"}',
    '{"type":"hello"}',
    '{"type":"remote-port","port":0}',
    '{"type":"remote-port","port":"20000"}',
  ])("rejects %j as a master message", (line) => {
    expect(parseMasterMessage(line)).toBeUndefined();
  });
  it("accepts well-formed messages in their own direction only", () => {
    const done = wire({ type: "done", exitCode: 3 });
    expect(parseMasterMessage(done)).toEqual({ type: "done", exitCode: 3 });
    expect(parseWorkerMessage(done)).toBeUndefined();
    const ready = wire({ type: "ready" });
    expect(parseWorkerMessage(ready)).toEqual({ type: "ready" });
    expect(parseMasterMessage(ready)).toBeUndefined();
    const go = wire({ type: "go" });
    expect(parseMasterMessage(go)).toEqual({ type: "go" });
    expect(parseWorkerMessage(go)).toBeUndefined();
    const exited = wire({ type: "exited", exitCode: 137 });
    expect(parseWorkerMessage(exited)).toEqual({ type: "exited", exitCode: 137 });
    expect(parseMasterMessage(exited)).toBeUndefined();
  });
  it("carries the ports: a worker's sshd's once it listens, MASTER_PORT in a welcome, the moved nodes", () => {
    const said = { type: "remote-port" as const, port: 23456 };
    expect(parseWorkerMessage(wire(said))).toEqual(said);
    expect(parseWorkerMessage(wire({ ...said, port: 70000 }))).toBeUndefined();
    expect(parseMasterMessage(wire(said))).toBeUndefined();
    expect(parseWelcomeAbout({ masterPort: 20002 })).toEqual({ masterPort: 20002 });
    expect(parseWelcomeAbout(undefined)).toEqual({});
    expect(parseWelcomeAbout({ masterPort: 70000 })).toBeUndefined();
    expect(parseHelloAbout({ rank: 2, relay: 23457 })).toEqual({ rank: 2, relay: 23457 });
    expect(parseHelloAbout({ rank: -1 })).toBeUndefined();
    expect(parseHelloAbout(undefined)).toBeUndefined();
    const moved = { type: "remote-ports" as const, moved: [{ node: "n3", port: 23456 }] };
    expect(parseMasterMessage(wire(moved))).toEqual(moved);
    expect(parseMasterMessage(wire({ type: "remote-ports", moved: [] }))).toEqual({
      type: "remote-ports",
      moved: [],
    });
    expect(parseWorkerMessage(wire(moved))).toBeUndefined();
    expect(parseMasterMessage('{"type":"remote-ports","moved":[{"node":"a|b","port":1}]}')).toBeUndefined();
  });
  it.each(['{"type":"exited"}', '{"type":"exited","exitCode":-1}', '{"type":"exited","exitCode":1.5}'])(
    "rejects %j as a worker message",
    (line) => {
      expect(parseWorkerMessage(line)).toBeUndefined();
    },
  );
  it.each([
    [0, 0],
    [7, 7],
    [300, 255],
    [-2, 0],
    [2.9, 2],
    [Number.NaN, 1],
  ])("puts exit code %d on the wire as %d", (code, wire) => {
    expect(toWireExitCode(code)).toBe(wire);
  });
  it("rejects node names that would make the MAC input ambiguous", () => {
    expect(isValidNodeName("node-01.cluster")).toBe(true);
    expect(isValidNodeName("a|b")).toBe(false);
    expect(isValidNodeName("a b")).toBe(false);
    expect(isValidNodeName("")).toBe(false);
  });
});
