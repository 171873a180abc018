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
  RELAY_FETCH_START,
  RELAY_PROTOCOL_VERSION,
  type RelayFetchInput,
  type RelayFetchState,
  RelayFrame,
  type RelayReceivePhase,
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
  const timers = options.timers ?? realTimers;
  const silenceMs = options.silenceMs ?? DEFAULT_SILENCE_MS;
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((port, host) => netConnect({ port, host })))(options.port, options.host);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    let state: RelayFetchState = RELAY_FETCH_START;
    let archive: PassThrough | undefined;
    let paused = false;
    let silenceTimer: unknown;
    const heard = (): void => {
      timers.clearTimeout(silenceTimer);
      if (paused || state.phase === "loading") return;
      silenceTimer = timers.setTimeout(
        () => dispatch({ type: "broken", reason: `no word from it for ${formatSeconds(silenceMs)}` }),
        silenceMs,
      );
    };
    const deadline = timers.setTimeout(
      () =>
        dispatch({ type: "broken", reason: `not done within ${formatSeconds(options.deadlineMs)} (--pull-timeout)` }),
      options.deadlineMs,
    );

    function dispatch(input: RelayFetchInput): void {
      const before = state;
      state = nextRelayFetchState(before, input, options.want);
      if (state === before) return;
      switch (state.phase) {
        case "receiving":
          if (before.phase === "waiting") begin(state.size);
          else options.onProgress?.(state.bytes);
          return;
        case "loading":
          timers.clearTimeout(silenceTimer);
          archive?.end();
          return;
        case "loaded":
          finish({ ok: true, id: state.id, bytes: state.bytes });
          return;
        case "failed":
          archive?.destroy(new Error(state.reason));
          finish({ ok: false, reason: state.reason });
          return;
        case "handshake":
        case "waiting":
          return;
        default: {
          const unreachable: never = state;
          throw new Error(`internal error: relay fetch state ${String(unreachable)}; please report`);
        }
      }
    }

    function begin(size: number | undefined): void {
      options.onStart?.(size);
      const stream = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
      archive = stream;
      stream.on("drain", () => {
        paused = false;
        socket.resume();
        heard();
      });
      options.load(stream).then(
        (id) => dispatch({ type: "loaded", id }),
        (error: unknown) =>
          dispatch({
            type: "load-failed",
            reason: `the load failed: ${error instanceof Error ? error.message : String(error)}`,
          }),
      );
    }

    function finish(result: RelayFetchResult): void {
      timers.clearTimeout(deadline);
      timers.clearTimeout(silenceTimer);
      frames?.stop();
      socket.destroy();
      resolve(result);
    }

    const phase = (): RelayReceivePhase => (state.phase === "waiting" ? "waiting" : "receiving");
    let frames: FrameStream | undefined;
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
        established(channel) {
          frames = channel.frames;
          channel.frames.readWith({
            limits: (type) => relayServerFrameLimit(phase(), type),
            frame: receive,
            error: (reason) => dispatch({ type: "broken", reason }),
          });
          heard();
          dispatch({ type: "established" });
        },
        failed: (failure) => dispatch({ type: "refused", failure }),
      },
    );
    function receive(frame: Frame): void {
      heard();
      const type = Number(frame.type);
      if (type === RelayFrame.data) {
        if (archive !== undefined && !archive.write(frame.payload)) {
          paused = true;
          socket.pause();
          timers.clearTimeout(silenceTimer);
        }
        dispatch({ type: "data", length: frame.payload.length });
        return;
      }
      dispatch(controlInput(type, frame.payload));
    }
    let lastError: string | undefined;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      lastError = error.code ?? error.message;
    });
    socket.on("close", () => dispatch({ type: "broken", reason: lastError ?? "connection closed" }));
    heard();
  });
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
