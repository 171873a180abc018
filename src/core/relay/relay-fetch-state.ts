/**
 * A child's fetch of the image from its parent's relay (`--pull-once`, core/relay/relay-protocol.ts),
 * as one state changed only by named inputs. Pure: io/relay/relay-client.ts feeds it what the socket,
 * the engine's load and the timers say.
 *
 *   handshake ─established (core/channel/client.ts)─▶ waiting ─start─▶ receiving
 *                                                      ▲ wait          │ data…, end
 *                                                      └──┘            ▼
 *                                                       loaded ◀─load─ loading
 *   any state but loaded ─(the channel refused, unavailable, another image, a short or
 *   long stream, the socket's end, silence, the deadline, the load's failure)─▶ failed
 *
 * Until the parent proves it holds the job's secret nothing it sends counts, so a squatter on
 * its port cannot feed this node an image. A failure says why in words for `--debug`; the
 * caller then fetches from the registry itself.
 */
import { type ChannelFailure, describeChannelFailure, type FailureWords } from "../channel/index.js";

const RELAY_WORDS: FailureWords = {
  server: "its relay",
  onPort: "its relay",
  notOurs: "not a node of this job",
  refused: "this node",
  us: "this node",
};

export type RelayFetchState =
  /** Connecting, or in the channel's handshake. */
  | { readonly phase: "handshake" }
  /** Authenticated; the parent does not have the image yet. */
  | { readonly phase: "waiting" }
  | { readonly phase: "receiving"; readonly id: string; readonly size: number | undefined; readonly bytes: number }
  /** The archive came whole; the engine is still loading it. */
  | { readonly phase: "loading"; readonly id: string; readonly bytes: number }
  | { readonly phase: "loaded"; readonly id: string; readonly bytes: number }
  | { readonly phase: "failed"; readonly reason: string };

export type RelayFetchInput =
  /** The parent proved it holds the job's secret. */
  | { readonly type: "established" }
  | { readonly type: "refused"; readonly failure: ChannelFailure }
  | { readonly type: "wait" }
  | { readonly type: "start"; readonly id: string; readonly size?: number | undefined }
  | { readonly type: "data"; readonly length: number }
  | { readonly type: "end"; readonly bytes: number }
  | { readonly type: "unavailable"; readonly reason: string }
  /** The engine finished loading: the image ID it reports. */
  | { readonly type: "loaded"; readonly id: string }
  | { readonly type: "load-failed"; readonly reason: string }
  /** The socket ended, a frame broke the protocol, the parent fell silent, the deadline passed. */
  | { readonly type: "broken"; readonly reason: string };

export const RELAY_FETCH_START: RelayFetchState = { phase: "handshake" };

/**
 * `want`: the image ID the master pinned for the job. A node fetches from its parent only what
 * it can check: a parent that offers another image is refused before a byte is loaded.
 */
export function nextRelayFetchState(state: RelayFetchState, input: RelayFetchInput, want: string): RelayFetchState {
  if (state.phase === "failed" || state.phase === "loaded") return state;
  if (input.type === "broken" || input.type === "load-failed") {
    // The stream's end after `end` is the parent hanging up as it should.
    if (input.type === "broken" && state.phase === "loading") return state;
    return failed(input.reason);
  }
  switch (state.phase) {
    case "handshake":
      if (input.type === "refused") return failed(describeChannelFailure(input.failure, RELAY_WORDS));
      if (input.type !== "established") return failed(`${describe(input)} before its welcome`);
      return { phase: "waiting" };
    case "waiting":
      return fromWaiting(state, input, want);
    case "receiving":
      return fromReceiving(state, input);
    case "loading":
      if (input.type !== "loaded") return failed(`${describe(input)} after the archive's end`);
      if (input.id !== state.id)
        return failed(`the archive loaded as ${short(input.id)}, not the offered ${short(state.id)}`);
      return { phase: "loaded", id: input.id, bytes: state.bytes };
    default: {
      const unreachable: never = state;
      return unreachable;
    }
  }
}

function fromWaiting(state: RelayFetchState, input: RelayFetchInput, want: string): RelayFetchState {
  switch (input.type) {
    case "wait":
      return state;
    case "unavailable":
      return failed(`it has no image to give: ${input.reason}`);
    case "start":
      if (input.id !== want) return failed(`it offered image ${short(input.id)}, not the job's ${short(want)}`);
      return { phase: "receiving", id: input.id, size: input.size, bytes: 0 };
    default:
      return failed(`${describe(input)} while waiting`);
  }
}

function fromReceiving(
  state: Extract<RelayFetchState, { phase: "receiving" }>,
  input: RelayFetchInput,
): RelayFetchState {
  switch (input.type) {
    case "wait":
      return state;
    case "data":
      return { ...state, bytes: state.bytes + input.length };
    case "end":
      if (input.bytes !== state.bytes) return failed(`the archive ended after ${state.bytes} of ${input.bytes} bytes`);
      return { phase: "loading", id: state.id, bytes: state.bytes };
    default:
      return failed(`${describe(input)} in the middle of the archive`);
  }
}

function failed(reason: string): RelayFetchState {
  return { phase: "failed", reason };
}

function describe(input: RelayFetchInput): string {
  return `"${input.type}"`;
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);
