/**
 * Frames of core/channel/agent-frames.ts on a socket: writing them (a data chunk goes out as header +
 * payload in one writev, never copied). io/channel/channel.ts reads them.
 * Each write returns what socket.write returned, so the caller can apply back-pressure.
 */
import type { Socket } from "node:net";
import { type ControlFrameType, type ControlMessage, encodeControl } from "../../core/agent/index.js";
import { encodeFrameHeader, type FrameType, splitPayload } from "../../core/channel/index.js";

/** False when the socket's buffer is full: wait for "drain" before writing more. */
export function writeData(socket: Socket, type: FrameType, data: Buffer): boolean {
  if (socket.destroyed) return true;
  let ok = true;
  socket.cork();
  for (const piece of splitPayload(data)) {
    socket.write(encodeFrameHeader(type, piece.length));
    ok = socket.write(piece);
  }
  socket.uncork();
  return ok;
}

export function writeEmpty(socket: Socket, type: FrameType): boolean {
  if (socket.destroyed) return true;
  return socket.write(encodeFrameHeader(type, 0));
}

/** One frame whose payload fits one frame (a control message). */
export function writeFrame(socket: Socket, type: FrameType, payload: Buffer): boolean {
  if (socket.destroyed) return true;
  socket.cork();
  socket.write(encodeFrameHeader(type, payload.length));
  const ok = socket.write(payload);
  socket.uncork();
  return ok;
}

export function writeControl<T extends ControlFrameType>(socket: Socket, type: T, message: ControlMessage<T>): boolean {
  return writeFrame(socket, type, encodeControl(type, message));
}
