import { describe, expect, it } from "vitest";
import {
  createLineDecoder,
  encodeMessage,
  isValidNodeName,
  parseMasterMessage,
  parseWorkerMessage,
  toWireExitCode,
} from "./rendezvous-protocol.js";

describe("createLineDecoder", () => {
  it("joins lines split across chunks", () => {
    const decoder = createLineDecoder(100);
    expect(decoder.push(Buffer.from('{"a":'))).toEqual({ lines: [], overflow: false });
    expect(decoder.push(Buffer.from('1}\n{"b"'))).toEqual({ lines: ['{"a":1}'], overflow: false });
    expect(decoder.push(Buffer.from(":2}\n\n"))).toEqual({ lines: ['{"b":2}', ""], overflow: false });
  });
  it("reports an overlong line, with or without its newline", () => {
    expect(createLineDecoder(4).push(Buffer.from("12345")).overflow).toBe(true);
    expect(createLineDecoder(4).push(Buffer.from("ok\n123456\n")).overflow).toBe(true);
    expect(createLineDecoder(4).push(Buffer.from("1234\n")).overflow).toBe(false);
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
    `{"type":"welcome","mac":"${"0".repeat(64)}","masterPort":70000}`,
  ])("rejects %j as a master message", (line) => {
    expect(parseMasterMessage(line)).toBeUndefined();
  });
  it("accepts well-formed messages in their own direction only", () => {
    const done = encodeMessage({ type: "done", exitCode: 3 }).trimEnd();
    expect(parseMasterMessage(done)).toEqual({ type: "done", exitCode: 3 });
    expect(parseWorkerMessage(done)).toBeUndefined();
    const ready = encodeMessage({ type: "ready" }).trimEnd();
    expect(parseWorkerMessage(ready)).toEqual({ type: "ready" });
    expect(parseMasterMessage(ready)).toBeUndefined();
    const go = encodeMessage({ type: "go" }).trimEnd();
    expect(parseMasterMessage(go)).toEqual({ type: "go" });
    expect(parseWorkerMessage(go)).toBeUndefined();
    const exited = encodeMessage({ type: "exited", exitCode: 137 }).trimEnd();
    expect(parseWorkerMessage(exited)).toEqual({ type: "exited", exitCode: 137 });
    expect(parseMasterMessage(exited)).toBeUndefined();
  });
  it("carries the ports: a worker's sshd's once it listens, MASTER_PORT in a welcome, the moved nodes", () => {
    const mac = "0".repeat(64);
    const said = { type: "remote-port" as const, port: 23456 };
    expect(parseWorkerMessage(encodeMessage(said))).toEqual(said);
    expect(parseWorkerMessage(encodeMessage({ ...said, port: 70000 }))).toBeUndefined();
    expect(parseMasterMessage(encodeMessage(said))).toBeUndefined();
    expect(parseMasterMessage(encodeMessage({ type: "welcome", mac, masterPort: 20002 }))).toEqual({
      type: "welcome",
      mac,
      masterPort: 20002,
    });
    const moved = { type: "remote-ports" as const, moved: [{ node: "n3", port: 23456 }] };
    expect(parseMasterMessage(encodeMessage(moved))).toEqual(moved);
    expect(parseMasterMessage(encodeMessage({ type: "remote-ports", moved: [] }))).toEqual({
      type: "remote-ports",
      moved: [],
    });
    expect(parseWorkerMessage(encodeMessage(moved))).toBeUndefined();
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
