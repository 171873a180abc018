/**
 * The authenticated channel on a socket: the handshake of core/channel/ in the frames of
 * core/channel/agent-frames.ts, then the same frames for the protocol. One decoder serves the socket's
 * whole life, and the protocol takes it over within the frame that ended the handshake, so
 * frames the peer sent right behind its hello or welcome are never lost nor read twice.
 */
import type { Socket } from "node:net";
import type { About, HandshakeInput, Outgoing, Step } from "../../core/channel/index.js";
import {
  type Admission,
  type ChannelFailure,
  type ClientContext,
  clientHandshakeLimit,
  createFrameDecoder,
  type Frame,
  type FrameLimits,
  type FrameType,
  type Peer,
  type ServerContext,
  type ServerHandshake,
  serverHandshakeLimit,
  startClient,
  startServer,
  stepClient,
  stepServer,
} from "../../core/channel/index.js";
import { writeFrame } from "./agent-wire.js";
import { createNonce } from "./key.js";

export interface FrameHandlers {
  limits: FrameLimits;
  frame(frame: Frame): void;
  error(reason: string): void;
}

/** A socket's frames, handed to whoever reads them now; `stop` ends the reading for good. */
export interface FrameStream {
  readWith(handlers: FrameHandlers): void;
  stop(): void;
}

export function frameStream(socket: Socket, first: FrameHandlers): FrameStream {
  let handlers = first;
  let stopped = false;
  const decoder = createFrameDecoder((type) => handlers.limits(type));
  socket.on("data", (chunk: Buffer) => {
    if (stopped) return;
    decoder.push(chunk);
    for (let step = decoder.next(); step !== undefined && !stopped; step = decoder.next()) {
      if (step.kind === "error") {
        stopped = true;
        handlers.error(step.reason);
        return;
      }
      handlers.frame(step.frame);
    }
  });
  return {
    readWith: (next) => {
      handlers = next;
    },
    stop: () => {
      stopped = true;
    },
  };
}

/** A socket past its handshake: the protocol reads its frames with `frames.readWith`. */
export interface Channel {
  readonly socket: Socket;
  readonly frames: FrameStream;
}

/** Feeds the handshake what happened to its connection (closed, timed out, crowded out). */
export interface Handshake {
  input(input: HandshakeInput): void;
}

export interface AcceptOptions extends Omit<ServerContext, "admit"> {
  admit?(peer: Peer): Admission;
}

export interface AcceptEvents {
  established(channel: Channel, peer: Peer): void;
  refused(state: ServerHandshake & { phase: "refused" }): void;
}

/** Runs the server's handshake on `socket`: a challenge now, then one hello at most. */
export function acceptChannel(socket: Socket, options: AcceptOptions, events: AcceptEvents): Handshake {
  const ctx: ServerContext = { ...options, admit: options.admit ?? (() => ({ welcome: undefined })) };
  const started = startServer(options.binding, createNonce());
  const handshake = drive(
    socket,
    started.state,
    clientHandshakeLimit,
    (state, input) => stepServer(state, input, ctx),
    (state, frames) => {
      if (state.phase === "established") events.established({ socket, frames }, state.peer);
      else if (state.phase === "refused") {
        frames.stop();
        events.refused(state);
      }
    },
  );
  send(socket, started.send);
  return handshake;
}

export interface OpenEvents {
  established(channel: Channel, about: About | undefined): void;
  failed(failure: ChannelFailure): void;
}

/** Runs the client's handshake on a connected `socket`: hello on the challenge, then the welcome. */
export function openChannel(socket: Socket, ctx: ClientContext, events: OpenEvents): Handshake {
  return drive(
    socket,
    startClient(createNonce()),
    serverHandshakeLimit,
    (state, input) => stepClient(state, input, ctx),
    (state, frames) => {
      if (state.phase === "established") events.established({ socket, frames }, state.about);
      else if (state.phase === "failed") {
        frames.stop();
        events.failed(state.failure);
      }
    },
  );
}

/**
 * One side's handshake on the socket: each input moves the state on, what it says goes out,
 * and `changed` sees every new state (the protocol takes the frames over within it).
 */
function drive<S>(
  socket: Socket,
  first: S,
  limits: FrameLimits,
  step: (state: S, input: HandshakeInput) => Step<S>,
  changed: (state: S, frames: FrameStream) => void,
): Handshake {
  let state = first;
  const input = (next: HandshakeInput): void => {
    const moved = step(state, next);
    if (moved.state === state) return;
    state = moved.state;
    send(socket, moved.send);
    changed(state, frames);
  };
  const frames = frameStream(socket, handshakeHandlers(limits, input));
  return { input };
}

function handshakeHandlers(limits: FrameLimits, input: (next: HandshakeInput) => void): FrameHandlers {
  return {
    limits,
    frame: (frame) => input({ type: "frame", frameType: frame.type, payload: frame.payload.toString("utf8") }),
    error: (reason) => input({ type: "malformed", reason }),
  };
}

function send(socket: Socket, outgoing: Outgoing | undefined): void {
  if (outgoing === undefined) return;
  writeFrame(socket, outgoing.type as FrameType, Buffer.from(JSON.stringify(outgoing.message), "utf8"));
}
