/**
 * A child's fetch of the image from its parent's relay (`--pull-once`, core/relay/relay-protocol.ts):
 * connect, check that the parent holds the job's secret before anything it says counts, wait
 * while it fetches, then feed the archive to this node's engine as it comes, with back-pressure
 * (a slow load slows the parent's stream to this node only). Never rejects: a failure is a
 * result with the reason, and the caller fetches from the registry itself. One state:
 * core/relay/relay-fetch-state.ts.
 */
import { connect as netConnect, type Socket } from "node:net";
import { PassThrough } from "node:stream";
import type { Frame } from "../../core/channel/index.js";
import {
  nextRelayFetchState,
  parseRelayControl,
  RELAY_PROTOCOL_VERSION,
  type RelayFetchInput,
  type RelayFetchState,
  RelayFrame,
  relayServerFrameLimit,
} from "../../core/relay/index.js";
import { channelKey, type FrameStream, openChannel } from "../channel/index.js";
import { formatSeconds, realTimers, type Timers } from "../process/index.js";

export interface RelayFetchOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: Buffer;
  readonly jobKey: string;
  /** This node, as the job names it (the MACs are bound to it). */
  readonly node: string;
  /** The image ID the master pinned: the parent must offer it, and the load must give it. */
  readonly want: string;
  /** Loads the archive as it comes; resolves with the image ID the engine got. */
  readonly load: (archive: PassThrough) => Promise<string>;
  /** All of it, waiting included (what is left of --pull-timeout). */
  readonly deadlineMs: number;
  /** The parent is lost after this long without a frame while this node reads. */
  readonly silenceMs?: number;
  readonly onStart?: (size: number | undefined) => void;
  readonly onProgress?: (bytes: number) => void;
  readonly timers?: Timers;
  readonly connect?: (port: number, host: string) => Socket;
}

export type RelayFetchResult =
  | { readonly ok: true; readonly id: string; readonly bytes: number }
  | { readonly ok: false; readonly reason: string };

const DEFAULT_SILENCE_MS = 15_000;

export function fetchFromRelay(options: RelayFetchOptions): Promise<RelayFetchResult> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((port, host) => netConnect({ port, host })))(options.port, options.host);
    new RelayFetch(socket, options, resolve).start();
  });
}

type Phase<P extends RelayFetchState["phase"]> = Extract<RelayFetchState, { phase: P }>;

/**
 * The fetch's state, with what this side holds in each phase: `silence`, the timer that calls
 * a quiet parent lost (none while this node's load holds the stream back, nor once it all
 * came); `frames` once the channel is up; the `archive` being loaded once the stream started,
 * and whether the socket is `paused` for it.
 */
type FetchState =
  | (Phase<"handshake"> & { silence: unknown })
  | (Phase<"waiting"> & { silence: unknown; frames: FrameStream })
  | (Phase<"receiving"> & { silence: unknown; frames: FrameStream; archive: PassThrough; paused: boolean })
  | (Phase<"loading"> & { frames: FrameStream; archive: PassThrough })
  | Phase<"loaded" | "failed">;

class RelayFetch {
  #state: FetchState = { phase: "handshake", silence: undefined };
  readonly #timers: Timers;
  readonly #silenceMs: number;
  #deadline: unknown;
  #lastError: string | undefined;

  constructor(
    readonly socket: Socket,
    readonly options: RelayFetchOptions,
    readonly resolve: (result: RelayFetchResult) => void,
  ) {
    this.#timers = options.timers ?? realTimers;
    this.#silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
  }

  start(): void {
    const { socket, options } = this;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    const late = `not done within ${formatSeconds(options.deadlineMs)} (--pull-timeout)`;
    this.#deadline = this.#timers.setTimeout(() => this.dispatch({ type: "broken", reason: late }), options.deadlineMs);
    const binding = {
      protocol: "relay",
      version: RELAY_PROTOCOL_VERSION,
      jobKey: options.jobKey,
      port: options.port,
    } as const;
    // Only the parent that holds the job's secret computes the welcome for our nonce and port.
    openChannel(
      socket,
      { key: channelKey(options.secret), binding, node: options.node },
      {
        established: (channel) => this.#onEstablished(channel.frames),
        failed: (failure) => this.dispatch({ type: "refused", failure }),
      },
    );
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.#lastError = error.code ?? error.message;
    });
    socket.on("close", () => this.dispatch({ type: "broken", reason: this.#lastError ?? "connection closed" }));
    this.#heard();
  }

  /** The parent said something: its silence counts from now, unless nothing is awaited from it. */
  #heard(): void {
    const state = this.#state;
    if (state.phase !== "handshake" && state.phase !== "waiting" && state.phase !== "receiving") return;
    this.#timers.clearTimeout(state.silence);
    if (state.phase === "receiving" && state.paused) return;
    const reason = `no word from it for ${formatSeconds(this.#silenceMs)}`;
    const silence = this.#timers.setTimeout(() => this.dispatch({ type: "broken", reason }), this.#silenceMs);
    this.#state = { ...state, silence };
  }

  #onEstablished(frames: FrameStream): void {
    frames.readWith({
      limits: (type) => relayServerFrameLimit(this.#state.phase === "waiting" ? "waiting" : "receiving", type),
      frame: (frame) => this.#onFrame(frame),
      error: (reason) => this.dispatch({ type: "broken", reason }),
    });
    const before = this.#state;
    if (before.phase !== "handshake") return;
    const next = nextRelayFetchState(before, { type: "established" }, this.options.want);
    if (next.phase === "waiting") this.#state = { ...next, silence: before.silence, frames };
    else this.dispatch({ type: "established" });
    this.#heard();
  }

  #onFrame(frame: Frame): void {
    this.#heard();
    const type = Number(frame.type);
    if (type === RelayFrame.data) this.#onData(frame.payload);
    else this.dispatch(controlInput(type, frame.payload));
  }

  /** Feeds the archive on; while the load holds it back, the socket waits, and so does the parent. */
  #onData(payload: Buffer): void {
    const state = this.#state;
    if (state.phase === "receiving" && !state.archive.write(payload)) {
      this.#timers.clearTimeout(state.silence);
      this.#state = { ...state, paused: true };
      this.socket.pause();
    }
    this.dispatch({ type: "data", length: payload.length });
  }

  #onDrain(): void {
    if (this.#state.phase === "receiving") this.#state = { ...this.#state, paused: false };
    this.socket.resume();
    this.#heard();
  }

  dispatch(input: RelayFetchInput): void {
    const before = this.#state;
    const next = nextRelayFetchState(before, input, this.options.want);
    if (next === before) return;
    switch (next.phase) {
      case "receiving":
        this.#enterReceiving(before, next);
        return;
      case "loading":
        this.#enterLoading(before, next);
        return;
      case "loaded":
        this.#finish(before, next, { ok: true, id: next.id, bytes: next.bytes });
        return;
      case "failed":
        this.#finish(before, next, { ok: false, reason: next.reason });
        return;
      // Entered only by #onEstablished, which holds the channel's frames.
      case "handshake":
      case "waiting":
        return;
      default: {
        const unreachable: never = next;
        throw new Error(`internal error: relay fetch state ${String(unreachable)}; please report`);
      }
    }
  }

  #enterReceiving(before: FetchState, next: Phase<"receiving">): void {
    if (before.phase === "receiving") {
      this.#state = { ...before, ...next };
      this.options.onProgress?.(next.bytes);
      return;
    }
    if (before.phase !== "waiting") return;
    this.options.onStart?.(next.size);
    const archive = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    this.#state = { ...next, silence: before.silence, frames: before.frames, archive, paused: false };
    archive.on("drain", () => this.#onDrain());
    this.options.load(archive).then(
      (id) => this.dispatch({ type: "loaded", id }),
      (error: unknown) =>
        this.dispatch({
          type: "load-failed",
          reason: `the load failed: ${error instanceof Error ? error.message : String(error)}`,
        }),
    );
  }

  #enterLoading(before: FetchState, next: Phase<"loading">): void {
    if (before.phase !== "receiving") return;
    this.#timers.clearTimeout(before.silence);
    this.#state = { ...next, frames: before.frames, archive: before.archive };
    before.archive.end();
  }

  #finish(before: FetchState, next: Phase<"loaded" | "failed">, result: RelayFetchResult): void {
    this.#state = next;
    if (next.phase === "failed" && (before.phase === "receiving" || before.phase === "loading")) {
      before.archive.destroy(new Error(next.reason));
    }
    this.#timers.clearTimeout(this.#deadline);
    if ("silence" in before) this.#timers.clearTimeout(before.silence);
    if ("frames" in before) before.frames.stop();
    this.socket.destroy();
    this.resolve(result);
  }
}

/** A control frame as the state's input; a malformed one breaks the fetch. */
function controlInput(type: number, payload: Buffer): RelayFetchInput {
  const malformed: RelayFetchInput = { type: "broken", reason: `a malformed frame 0x${type.toString(16)}` };
  switch (type) {
    case RelayFrame.wait:
      return { type: "wait" };
    case RelayFrame.start: {
      const m = parseRelayControl(RelayFrame.start, payload);
      return m === undefined ? malformed : { type: "start", id: m.id, size: m.size };
    }
    case RelayFrame.end: {
      const m = parseRelayControl(RelayFrame.end, payload);
      return m === undefined ? malformed : { type: "end", bytes: m.bytes };
    }
    case RelayFrame.unavailable: {
      const m = parseRelayControl(RelayFrame.unavailable, payload);
      return m === undefined ? malformed : { type: "unavailable", reason: m.reason };
    }
    default:
      return malformed;
  }
}
