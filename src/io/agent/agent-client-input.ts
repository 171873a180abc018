/**
 * The client's stdin, sent to the remote command within the window of core/agent/agent-messages.ts:
 * at most STDIN_WINDOW_BYTES that the command has not taken yet are on their way; past that,
 * our stdin is paused (a slow reader over there slows the writer here) until the server
 * grants more. With a pty on a terminal, the terminal goes raw (Ctrl-C is a byte for the
 * remote pty) and is restored on stop.
 */
import type { Socket } from "node:net";
import { STDIN_WINDOW_BYTES } from "../../core/agent/index.js";
import { FrameType } from "../../core/channel/index.js";
import { writeData, writeEmpty } from "../channel/index.js";

/** The client's stdin: process.stdin, or a stream in tests. */
export type InputSource = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

export interface InputPump {
  /** Starts reading (or, with `noStdin`, sends EOF at once). */
  start(): void;
  /** The server's grant: the command took this many more bytes. */
  grant(bytes: number): void;
  /** Stops reading for good and gives the terminal back. */
  stop(): void;
}

export function createInputPump(
  socket: Socket,
  stdin: InputSource,
  options: { noStdin: boolean; pty: boolean },
): InputPump {
  let credit = STDIN_WINDOW_BYTES;
  let pending: Buffer | undefined;
  let ended = false;
  let eofSent = false;
  let rawMode = false;

  const send = (chunk: Buffer): void => {
    const n = Math.min(chunk.length, credit);
    if (n > 0) writeData(socket, FrameType.stdin, chunk.subarray(0, n));
    credit -= n;
    if (n < chunk.length) {
      pending = chunk.subarray(n);
      stdin.pause();
    } else if (ended && !eofSent) {
      eofSent = true;
      writeEmpty(socket, FrameType.stdinEof);
    }
  };
  const onData = (chunk: Buffer | string): void => send(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const onEnd = (): void => {
    ended = true;
    if (pending === undefined) send(Buffer.alloc(0));
  };

  return {
    start() {
      if (options.noStdin) {
        ended = true;
        send(Buffer.alloc(0));
        return;
      }
      if (options.pty && stdin.isTTY === true && stdin.setRawMode !== undefined) {
        stdin.setRawMode(true);
        rawMode = true;
      }
      stdin.on("data", onData);
      stdin.on("end", onEnd);
      stdin.resume();
    },
    grant(bytes) {
      credit += bytes;
      const held = pending;
      pending = undefined;
      if (held !== undefined) send(held);
      if (pending === undefined && !ended) stdin.resume();
    },
    stop() {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
      if (rawMode) stdin.setRawMode?.(false);
    },
  };
}
