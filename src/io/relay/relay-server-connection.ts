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
  planWaitPing,
  RELAY_PROTOCOL_VERSION,
  RelayFrame,
  type RelayFrameType,
  type RelayOffer,
  type RelayServeInput,
  type RelayServeState,
} from "../../core/relay/index.js";
import { acceptChannel, channelKey, type FrameStream, type Handshake } from "../channel/index.js";
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
  return new RelayConnection(socket, options, timers, { emit, current, refused }).start();
}

/** What the connection reports to its server, and asks of it. */
interface ServerSide {
  emit(event: RelayServerEvent): void;
  /** This node's own fetch as it stands, and the image's size once known. */
  current(): { offer: RelayOffer; size: number | undefined };
  refused(kind: RefusalKind, source: string): void;
}

type Phase<P extends RelayServeState["phase"]> = Extract<RelayServeState, { phase: P }>;

/**
 * The connection's state, with what this side holds in each phase: the handshake's
 * `deadline`; once authenticated, the channel's `frames` and the `ping` timer of `wait`
 * frames; while streaming, the engine's `archive` and when the stream started.
 */
type ConnectionState =
  | (Phase<"handshake"> & { deadline: unknown })
  | (Phase<"waiting"> & { frames: FrameStream; ping: unknown })
  | (Phase<"streaming"> & { frames: FrameStream; ping: unknown; archive: Readable; startedAt: number })
  | Phase<"sent" | "unavailable" | "dropped">;

class RelayConnection {
  #state: ConnectionState = { phase: "handshake", deadline: undefined };
  readonly #remote: string;
  readonly #waitPingMs: number;
  /** When this side last sent a frame: a `wait` goes out only after a quiet `waitPingMs`. */
  #lastSentAt: number;
  #handshake: Handshake | undefined;
  readonly #conn: ServedConnection;

  constructor(
    readonly socket: Socket,
    readonly options: RelayServerOptions,
    readonly timers: Timers,
    readonly server: ServerSide,
  ) {
    this.#remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
    this.#waitPingMs = options.waitPingMs ?? 2000;
    this.#lastSentAt = timers.now();
    this.#conn = {
      socket,
      apply: (offer) => this.dispatch({ type: "offer", offer }),
      crowdOut: () => this.#handshake?.input({ type: "crowded" }),
      onAuthenticated: () => {},
    };
  }

  start(): ServedConnection {
    const { socket, options, timers } = this;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    const handshakeMs = options.handshakeTimeoutMs ?? 5000;
    const deadline = timers.setTimeout(() => this.#handshake?.input({ type: "timed-out" }), handshakeMs);
    this.#state = { phase: "handshake", deadline };
    // Bound to the port the child reached: a squatter on another candidate cannot relay the handshake here.
    const port = socket.localPort ?? 0;
    const binding = { protocol: "relay", version: RELAY_PROTOCOL_VERSION, jobKey: options.jobKey, port } as const;
    this.#handshake = acceptChannel(
      socket,
      { key: channelKey(options.secret), binding },
      {
        established: (channel, peer) => this.#onEstablished(channel.frames, peer.node),
        refused: ({ reason, stranger }) =>
          this.dispatch({
            type: "closed",
            reason,
            ...(stranger === undefined || stranger === "gone" ? {} : { refusal: stranger }),
          }),
      },
    );
    socket.on("error", () => {});
    socket.on("close", () =>
      this.#state.phase === "handshake"
        ? this.#handshake?.input({ type: "closed", reason: "connection closed" })
        : this.dispatch({ type: "closed", reason: "connection closed" }),
    );
    return this.#conn;
  }

  #onEstablished(frames: FrameStream, node: string): void {
    // After the hello a child says nothing: any frame is a protocol error.
    frames.readWith({
      limits: () => undefined,
      frame: () => {},
      error: (reason) => this.dispatch({ type: "closed", reason }),
    });
    const before = this.#state;
    const next = nextRelayServeState(before, { type: "established", node });
    if (before.phase !== "handshake" || next.phase !== "waiting") return;
    this.timers.clearTimeout(before.deadline);
    const ping = this.timers.setTimeout(() => this.#onPing(), this.#waitPingMs);
    this.#state = { ...next, frames, ping };
    this.#conn.onAuthenticated();
    this.dispatch({ type: "offer", offer: this.server.current().offer });
  }

  #onPing(): void {
    const state = this.#state;
    if (state.phase !== "waiting" && state.phase !== "streaming") return;
    const plan = planWaitPing(this.timers.now() - this.#lastSentAt, this.#waitPingMs, this.socket.writableNeedDrain);
    if (plan.send) this.#write(RelayFrame.wait);
    this.#state = { ...state, ping: this.timers.setTimeout(() => this.#onPing(), plan.nextInMs) };
  }

  #write(type: RelayFrameType, payload: Buffer = Buffer.alloc(0)): boolean {
    const { socket } = this;
    if (socket.destroyed || !socket.writable) return true;
    this.#lastSentAt = this.timers.now();
    socket.cork();
    socket.write(encodeRelayHeader(type, payload.length));
    const ok = payload.length === 0 ? true : socket.write(payload);
    socket.uncork();
    return ok && !socket.writableNeedDrain;
  }

  dispatch(input: RelayServeInput): void {
    const before = this.#state;
    const next = nextRelayServeState(before, input);
    if (next === before) return;
    switch (next.phase) {
      case "streaming":
        this.#enterStreaming(before, next);
        return;
      case "sent":
        this.#enterSent(before, next);
        return;
      case "unavailable":
        this.#enterUnavailable(before, next);
        return;
      case "dropped":
        this.#enterDropped(before, next);
        return;
      // Entered only by #onEstablished, which holds the channel's frames.
      case "handshake":
      case "waiting":
        return;
      default: {
        const unreachable: never = next;
        throw new Error(`internal error: relay state ${String(unreachable)}; please report`);
      }
    }
  }

  #enterStreaming(before: ConnectionState, next: Phase<"streaming">): void {
    if (before.phase === "streaming") {
      this.#state = { ...before, ...next };
      return;
    }
    if (before.phase !== "waiting") return;
    const startedAt = this.timers.now();
    const { size } = this.server.current();
    const { id } = next;
    this.#write(RelayFrame.start, encodeRelayControl(RelayFrame.start, size === undefined ? { id } : { id, size }));
    const archive = this.options.transfer.save(id);
    this.#state = { ...next, frames: before.frames, ping: before.ping, archive, startedAt };
    archive.on("data", (chunk: Buffer) => this.#onArchiveData(archive, chunk));
    this.socket.on("drain", () => archive.resume());
    archive.on("end", () => this.dispatch({ type: "saved" }));
    archive.on("error", (error) => this.dispatch({ type: "save-failed", reason: error.message }));
  }

  #onArchiveData(archive: Readable, chunk: Buffer): void {
    for (let at = 0; at < chunk.length; at += 1024 * 1024) {
      const piece = chunk.subarray(at, at + 1024 * 1024);
      if (!this.#write(RelayFrame.data, piece)) archive.pause();
      this.dispatch({ type: "streamed", length: piece.length });
    }
  }

  #enterSent(before: ConnectionState, next: Phase<"sent">): void {
    this.#leave(before, next);
    this.#write(RelayFrame.end, encodeRelayControl(RelayFrame.end, { bytes: next.bytes }));
    const ms = this.timers.now() - (before.phase === "streaming" ? before.startedAt : 0);
    this.server.emit({ type: "served", node: next.node, bytes: next.bytes, ms });
    this.socket.end();
  }

  #enterUnavailable(before: ConnectionState, next: Phase<"unavailable">): void {
    this.#leave(before, next);
    this.#write(RelayFrame.unavailable, encodeRelayControl(RelayFrame.unavailable, { reason: next.reason }));
    this.server.emit({ type: "told-unavailable", node: next.node });
    this.socket.end();
  }

  #enterDropped(before: ConnectionState, next: Phase<"dropped">): void {
    this.#leave(before, next);
    const { reason, stranger } = next;
    this.server.emit({ type: "dropped", remote: this.#remote, reason, stranger: stranger !== undefined });
    if (stranger !== undefined && stranger !== "gone") this.server.refused(stranger, this.socket.remoteAddress ?? "?");
    this.socket.destroy();
  }

  /** Leaves `before` for a final state: its timers, its reading and its archive end. */
  #leave(before: ConnectionState, next: Phase<"sent" | "unavailable" | "dropped">): void {
    this.#state = next;
    if (before.phase === "handshake") this.timers.clearTimeout(before.deadline);
    if (before.phase === "waiting" || before.phase === "streaming") {
      this.timers.clearTimeout(before.ping);
      before.frames.stop();
    }
    if (before.phase === "streaming") before.archive.destroy();
  }
}
