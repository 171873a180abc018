/**
 * The agent transport's framing, pure: every frame is a type byte, a 32-bit big-endian payload
 * length, then the payload. Data frames carry raw bytes (bulk output must not pay for JSON or
 * base64); control frames carry one small JSON object (core/agent/agent-messages.ts). The sockets
 * live in io/channel/agent-wire.ts.
 *
 *   ┌──────┬──────────────┬───────────────────────┐
 *   │ type │ length (u32) │ payload (length bytes) │
 *   └──────┴──────────────┴───────────────────────┘
 *
 * A decoder is told which types the peer may send next and how long each may be, so a peer
 * that is not yet authenticated cannot make it wait for (and buffer) a megabyte.
 */

import { HandshakeFrame } from "./handshake.js";

export const FRAME_HEADER_BYTES = 5;

export const FrameType = {
  /** The authenticated channel's handshake: challenge, hello, welcome, reject (core/channel/). */
  ...HandshakeFrame,
  /** client → server, control: the command (or a login shell), pty, TERM/LANG, window size. */
  exec: 0x05,
  /** client → server, data: bytes for the command's stdin. */
  stdin: 0x10,
  /** client → server, empty: the client's stdin ended. */
  stdinEof: 0x11,
  /** server → client, data. */
  stdout: 0x12,
  /** server → client, data. */
  stderr: 0x13,
  /** client → server, control: a signal name to forward to the command's process group. */
  signal: 0x14,
  /** server → client, control: the command's exit code or the signal that ended it. */
  exit: 0x15,
  /** server → client, control: the command consumed this many more bytes of stdin; send as many. */
  stdinWindow: 0x16,
} as const;

export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** The largest data payload a sender emits (longer chunks are split) and a receiver accepts. */
export const MAX_DATA_BYTES = 1024 * 1024;
/** Handshake and other small control messages. */
export const MAX_CONTROL_BYTES = 4 * 1024;
/** One `sh -c` string may be at most 128 KiB on Linux (MAX_ARG_STRLEN); JSON escapes can double it. */
export const MAX_EXEC_BYTES = 256 * 1024;

export interface Frame {
  type: FrameType;
  payload: Buffer;
}

/** The most a payload of `type` may hold, or undefined when the type is not allowed now. */
export type FrameLimits = (type: number) => number | undefined;

export type DecodeStep = { kind: "frame"; frame: Frame } | { kind: "error"; reason: string } | undefined;

export interface FrameDecoder {
  push(chunk: Buffer): void;
  /**
   * The next whole frame, undefined until more bytes come, or an error (sticky: a stream that
   * went wrong once is dropped, never resynchronised). Frames are handed out one at a time, so
   * the caller can change the limits between two frames of one chunk.
   */
  next(): DecodeStep;
}

export function createFrameDecoder(limits: FrameLimits): FrameDecoder {
  const chunks: Buffer[] = [];
  let buffered = 0;
  let error: string | undefined;

  /** Removes `count` bytes from the front; no copy when they lie within the first chunk. */
  const take = (count: number): Buffer => {
    const first = chunks[0];
    if (first !== undefined && first.length >= count) {
      buffered -= count;
      if (first.length === count) chunks.shift();
      else chunks[0] = first.subarray(count);
      return first.subarray(0, count);
    }
    const out = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = chunks[0] as Buffer;
      const n = Math.min(chunk.length, count - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
      if (n === chunk.length) chunks.shift();
      else chunks[0] = chunk.subarray(n);
    }
    buffered -= count;
    return out;
  };

  /** The header's five bytes without consuming them. */
  const peekHeader = (): { type: number; length: number } => {
    const first = chunks[0] as Buffer;
    const header = first.length >= FRAME_HEADER_BYTES ? first : Buffer.concat(chunks, FRAME_HEADER_BYTES);
    return { type: header.readUInt8(0), length: header.readUInt32BE(1) };
  };

  return {
    push(chunk) {
      if (error !== undefined || chunk.length === 0) return;
      chunks.push(chunk);
      buffered += chunk.length;
    },
    next() {
      if (error !== undefined) return { kind: "error", reason: error };
      if (buffered < FRAME_HEADER_BYTES) return undefined;
      const { type, length } = peekHeader();
      const limit = limits(type);
      if (limit === undefined) error = `unexpected frame type 0x${type.toString(16).padStart(2, "0")}`;
      else if (length > limit)
        error = `frame of type 0x${type.toString(16).padStart(2, "0")} too long (${length} bytes)`;
      if (error !== undefined) {
        chunks.length = 0;
        buffered = 0;
        return { kind: "error", reason: error };
      }
      if (buffered < FRAME_HEADER_BYTES + length) return undefined;
      take(FRAME_HEADER_BYTES);
      return { kind: "frame", frame: { type: type as FrameType, payload: take(length) } };
    },
  };
}

/** The five header bytes of a frame whose payload is `length` bytes long. */
export function encodeFrameHeader(type: FrameType, length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(length, 1);
  return header;
}

/** One frame as one buffer (control frames, tests). Data goes out as header + payload, uncopied. */
export function encodeFrame(type: FrameType, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeFrameHeader(type, payload.length), payload]);
}

/** A data payload cut into pieces no longer than MAX_DATA_BYTES (none for an empty one). */
export function splitPayload(payload: Buffer, max: number = MAX_DATA_BYTES): Buffer[] {
  const pieces: Buffer[] = [];
  for (let start = 0; start < payload.length; start += max) pieces.push(payload.subarray(start, start + max));
  return pieces;
}
