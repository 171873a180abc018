/**
 * One child's connection to this node's image relay (io/relay/relay-server.ts): the challenge, the
 * child's proof that it holds the job's secret and this node's answering proof, `wait` frames
 * while this node fetches, then the engine's `save` archive as data frames with back-pressure,
 * and `end`. Its state is core/relay/relay-serve-state.ts; this file does what each change says.
 */
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import type { RefusalKind } from "../../core/channel/index.js";
import {
  encodeRelayControl,
  encodeRelayHeader,
  nextRelayServeState,
  RELAY_PROTOCOL_VERSION,
  RelayFrame,
  type RelayFrameType,
  type RelayOffer,
  type RelayServeInput,
  type RelayServeState,
} from "../../core/relay/index.js";
import { acceptChannel, channelKey } from "../channel/index.js";
import type { ImageTransfer } from "../image/index.js";
import type { Timers } from "../process/index.js";

export interface RelayServerOptions {
  /** Tried in order (core/ports/port-candidates.ts, kind "relay"). */
  readonly candidates: readonly number[];
  readonly host?: string;
  readonly secret: Buffer;
  /** `${jobId}.${stepId}`. */
  readonly jobKey: string;
  readonly transfer: Pick<ImageTransfer, "save">;
  readonly handshakeTimeoutMs?: number;
  /** A `wait` frame goes out after this long with nothing else sent. */
  readonly waitPingMs?: number;
  readonly timers?: Timers;
  readonly onEvent?: (event: RelayServerEvent) => void;
  /** The strangers' connections refused, one summary line per window (core/channel/refusal-tally.ts). */
  readonly onRefusals?: (summary: string) => void;
}

export type RelayServerEvent =
  | { readonly type: "served"; readonly node: string; readonly bytes: number; readonly ms: number }
  /** `stranger`: it never authenticated (counted in the summary, not worth a line of its own). */
  | { readonly type: "dropped"; readonly remote: string; readonly reason: string; readonly stranger: boolean }
  | { readonly type: "told-unavailable"; readonly node: string };

export interface ServedConnection {
  readonly socket: Socket;
  apply(offer: RelayOffer): void;
  /** Drops a connection still in its handshake to make room for a newer one. */
  crowdOut(): void;
  onAuthenticated: () => void;
}

export function serveConnection(
  socket: Socket,
  options: RelayServerOptions,
  timers: Timers,
  emit: (event: RelayServerEvent) => void,
  current: () => { offer: RelayOffer; size: number | undefined },
  refused: (kind: RefusalKind, source: string) => void,
): ServedConnection {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 1000);
  const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  let state: RelayServeState = { phase: "handshake" };
  let archive: Readable | undefined;
  let lastSentAt = timers.now();
  let startedAt = 0;
  const waitPingMs = options.waitPingMs ?? 2000;
  let pingTimer: unknown;

  const write = (type: RelayFrameType, payload: Buffer = Buffer.alloc(0)): boolean => {
    if (socket.destroyed || !socket.writable) return true;
    lastSentAt = timers.now();
    socket.cork();
    socket.write(encodeRelayHeader(type, payload.length));
    const ok = payload.length === 0 ? true : socket.write(payload);
    socket.uncork();
    return ok && !socket.writableNeedDrain;
  };
  const ping = (): void => {
    const idle = timers.now() - lastSentAt;
    if (idle >= waitPingMs && !socket.writableNeedDrain) write(RelayFrame.wait);
    pingTimer = timers.setTimeout(ping, Math.max(1, waitPingMs - (timers.now() - lastSentAt)));
  };
  const handshakeTimer = timers.setTimeout(
    () => handshake.input({ type: "timed-out" }),
    options.handshakeTimeoutMs ?? 5000,
  );

  const conn: ServedConnection = {
    socket,
    apply: (offer) => dispatch({ type: "offer", offer }),
    crowdOut: () => handshake.input({ type: "crowded" }),
    onAuthenticated: () => {},
  };

  function dispatch(input: RelayServeInput): void {
    const before = state;
    state = nextRelayServeState(before, input);
    if (state === before) return;
    switch (state.phase) {
      case "waiting":
        timers.clearTimeout(handshakeTimer);
        conn.onAuthenticated();
        pingTimer = timers.setTimeout(ping, waitPingMs);
        dispatch({ type: "offer", offer: current().offer });
        return;
      case "streaming":
        if (before.phase === "waiting") stream(state.id);
        return;
      case "sent":
        end();
        write(RelayFrame.end, encodeRelayControl(RelayFrame.end, { bytes: state.bytes }));
        emit({ type: "served", node: state.node, bytes: state.bytes, ms: timers.now() - startedAt });
        socket.end();
        return;
      case "unavailable":
        end();
        write(RelayFrame.unavailable, encodeRelayControl(RelayFrame.unavailable, { reason: state.reason }));
        emit({ type: "told-unavailable", node: state.node });
        socket.end();
        return;
      case "dropped":
        end();
        emit({ type: "dropped", remote, reason: state.reason, stranger: state.stranger !== undefined });
        if (state.stranger !== undefined && state.stranger !== "gone")
          refused(state.stranger, socket.remoteAddress ?? "?");
        socket.destroy();
        return;
      case "handshake":
        return;
      default: {
        const unreachable: never = state;
        throw new Error(`internal error: relay state ${String(unreachable)}; please report`);
      }
    }
  }

  function end(): void {
    timers.clearTimeout(handshakeTimer);
    timers.clearTimeout(pingTimer);
    frames.stop();
    archive?.destroy();
  }

  function stream(id: string): void {
    startedAt = timers.now();
    const { size } = current();
    write(RelayFrame.start, encodeRelayControl(RelayFrame.start, size === undefined ? { id } : { id, size }));
    const source = options.transfer.save(id);
    archive = source;
    source.on("data", (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += 1024 * 1024) {
        const piece = chunk.subarray(at, at + 1024 * 1024);
        if (!write(RelayFrame.data, piece)) source.pause();
        dispatch({ type: "streamed", length: piece.length });
      }
    });
    socket.on("drain", () => source.resume());
    source.on("end", () => dispatch({ type: "saved" }));
    source.on("error", (error) => dispatch({ type: "save-failed", reason: error.message }));
  }

  // Bound to the port the child reached: a squatter on another candidate cannot relay the handshake here.
  const binding = {
    protocol: "relay",
    version: RELAY_PROTOCOL_VERSION,
    jobKey: options.jobKey,
    port: socket.localPort ?? 0,
  } as const;
  let frames: { stop(): void } = { stop: () => {} };
  const handshake = acceptChannel(
    socket,
    { key: channelKey(options.secret), binding },
    {
      established(channel, peer) {
        frames = channel.frames;
        // After the hello a child says nothing: any frame is a protocol error.
        channel.frames.readWith({
          limits: () => undefined,
          frame: () => {},
          error: (reason) => dispatch({ type: "closed", reason }),
        });
        dispatch({ type: "established", node: peer.node });
      },
      refused: ({ reason, stranger }) =>
        dispatch({
          type: "closed",
          reason,
          ...(stranger === undefined || stranger === "gone" ? {} : { refusal: stranger }),
        }),
    },
  );
  socket.on("error", () => {});
  socket.on("close", () =>
    state.phase === "handshake"
      ? handshake.input({ type: "closed", reason: "connection closed" })
      : dispatch({ type: "closed", reason: "connection closed" }),
  );
  return conn;
}
