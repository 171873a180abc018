import { describe, expect, test } from "vitest";
import {
  FrameType,
  MAX_CONTROL_BYTES,
  MAX_DATA_BYTES,
  MAX_EXEC_BYTES,
  serverHandshakeLimit,
} from "../channel/index.js";
import {
  type ControlFrameType,
  clientFrameLimit,
  encodeControl,
  exitCodeOfStatus,
  parseControl,
  serverFrameLimit,
} from "./agent-messages.js";

const _nonce = "a".repeat(32);
const _mac = "b".repeat(64);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("control messages", () => {
  test.each<[ControlFrameType, unknown]>([
    [FrameType.exec, { pty: false }],
    [FrameType.exec, { command: "echo 'a b'", pty: true, term: "xterm", lang: "C.UTF-8", cols: 80, rows: 24 }],
    [FrameType.signal, { name: "SIGINT" }],
    [FrameType.exit, { code: 0 }],
    [FrameType.exit, { signal: 9 }],
    [FrameType.stdinWindow, { bytes: 65_536 }],
  ])("type %i: %j round-trips", (type, message) => {
    expect(parseControl(type, encodeControl(type, message as never))).toEqual(message);
  });

  test.each<[string, ControlFrameType, Buffer]>([
    ["not JSON", FrameType.exec, Buffer.from("{")],
    ["a pty that is not a boolean", FrameType.exec, json({ pty: "yes" })],
    ["a command with a NUL (spawn would throw)", FrameType.exec, json({ command: "a\u0000b", pty: false })],
    ["a LANG with a NUL", FrameType.exec, json({ pty: false, lang: "C\u0000" })],
    ["a signal not on the list", FrameType.signal, json({ name: "SIGSTOP" })],
    ["an exit with code and signal", FrameType.exit, json({ code: 0, signal: 9 })],
    ["an exit code past 255", FrameType.exit, json({ code: 256 })],
    ["a window of 0", FrameType.stdinWindow, json({ bytes: 0 })],
  ])("%s is dropped", (_name, type, payload) => {
    expect(parseControl(type, payload)).toBeUndefined();
  });

  test.each([
    [{ code: 0 }, 0],
    [{ code: 7 }, 7],
    [{ signal: 9 }, 137],
    [{ signal: 15 }, 143],
  ])("status %j → exit code %i", (status, code) => {
    expect(exitCodeOfStatus(status)).toBe(code);
  });
});

describe("what each side accepts when", () => {
  test.each([
    ["exec", FrameType.exec, MAX_EXEC_BYTES],
    ["exec", FrameType.hello, undefined],
    ["exec", FrameType.stdin, undefined],
    ["running", FrameType.stdin, MAX_DATA_BYTES],
    ["running", FrameType.stdinEof, 0],
    ["running", FrameType.signal, MAX_CONTROL_BYTES],
    ["running", FrameType.exec, undefined],
    ["running", FrameType.stdout, undefined],
  ] as const)("server, %s: type %i → %s", (phase, type, limit) => {
    expect(clientFrameLimit(phase, type)).toBe(limit);
  });

  test.each([
    [false, FrameType.challenge, MAX_CONTROL_BYTES],
    [false, FrameType.reject, MAX_CONTROL_BYTES],
    [false, FrameType.stdout, undefined],
    [false, FrameType.exit, undefined],
    [true, FrameType.stdout, MAX_DATA_BYTES],
    [true, FrameType.stderr, MAX_DATA_BYTES],
    [true, FrameType.exit, MAX_CONTROL_BYTES],
    [true, FrameType.stdinWindow, MAX_CONTROL_BYTES],
    [true, FrameType.challenge, undefined],
    [true, FrameType.stdin, undefined],
  ] as const)("client, authenticated %s: type %i → %s", (authenticated, type, limit) => {
    // Before the welcome the channel's handshake reads (core/channel/client.ts).
    expect(authenticated ? serverFrameLimit(type) : serverHandshakeLimit(type)).toBe(limit);
  });
});
