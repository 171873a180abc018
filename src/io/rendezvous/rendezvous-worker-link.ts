/**
 * One attempt of a worker to join the rendezvous, and the session it becomes: the socket, fed
 * into the state of core/rendezvous/rendezvous-worker-state.ts, and what entering each state
 * does (give up the attempt, start heartbeats, release the waiting callers, settle the outcome).
 *
 * The link's state is the protocol's state plus what its phase holds on this side: the
 * attempt's deadline while in the handshake, the heartbeat timer and the time the master was
 * last heard from once joined. Nothing else changes after the link is made.
 */
import { connect as netConnect, type Socket } from "node:net";
import type { About } from "../../core/channel/index.js";
import { type Deferred, deferred } from "../../core/common/index.js";
import type { NodePort } from "../../core/ports/index.js";
import {
  checkMasterSilence,
  encodeMessage,
  type ImageAnnouncement,
  type MasterMessage,
  messageFrameLimit,
  nextWorkerState,
  PROTOCOL_VERSION,
  parseMasterMessage,
  parseWelcomeAbout,
  toWireExitCode,
  type WorkerInput,
  type WorkerMessage,
  type WorkerOutcome,
  type WorkerState,
} from "../../core/rendezvous/index.js";
import { type Channel, channelKey, openChannel } from "../channel/index.js";
import { formatSeconds, type Timers } from "../process/index.js";
import type { JoinAttempt, LinkOptions, RelaySource, RendezvousWorkerSession } from "./rendezvous-worker-session.js";

export type { JoinAttempt, LinkOptions, RelaySource, RendezvousWorkerSession } from "./rendezvous-worker-session.js";

export function attemptJoin(options: LinkOptions, timers: Timers, timeoutMs: number): Promise<JoinAttempt> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((port, host) => netConnect({ port, host })))(options.port, options.host);
    new WorkerLink(socket, options, timers, resolve).start(timeoutMs);
  });
}

type HandshakeState = Extract<WorkerState, { phase: "handshake" }>;
type SessionState = Extract<WorkerState, { phase: "joined" | "started" }>;

/** The protocol's state, with what this side holds in each phase. */
type LinkState =
  /** `deadline`: the attempt's own timeout. `connected`: something accepted the connection. */
  | (HandshakeState & { deadline: unknown; connected: boolean })
  /** `heartbeat`: the next ping (and silence check); `heardAt`: the master's last message. */
  | (SessionState & { heartbeat: unknown; heardAt: number })
  | Extract<WorkerState, { phase: "refused" | "settled" }>;

/** What the session's callers wait for: each settles on its news, or with the outcome first. */
interface Waiting {
  go: Deferred<{ kind: "go" } | WorkerOutcome>;
  image: Deferred<ImageAnnouncement | WorkerOutcome>;
  remotePorts: Deferred<{ kind: "ports"; moved: readonly NodePort[] } | WorkerOutcome>;
  relaySource: Deferred<RelaySource | WorkerOutcome>;
  outcome: Deferred<WorkerOutcome>;
}

class WorkerLink {
  #state: LinkState = { phase: "handshake", deadline: undefined, connected: false };
  readonly #waiting: Waiting = {
    go: deferred(),
    image: deferred(),
    remotePorts: deferred(),
    relaySource: deferred(),
    outcome: deferred(),
  };
  readonly #pingIntervalMs: number;
  readonly #lostAfterMs: number;
  #lastSocketError: string | undefined;

  constructor(
    readonly socket: Socket,
    readonly options: LinkOptions,
    readonly timers: Timers,
    readonly resolve: (attempt: JoinAttempt) => void,
  ) {
    this.#pingIntervalMs = options.pingIntervalMs ?? 2000;
    this.#lostAfterMs = this.#pingIntervalMs * (options.missedPings ?? 3);
  }

  start(timeoutMs: number): void {
    const { socket, timers } = this;
    socket.setKeepAlive(true, 1000);
    socket.setNoDelay(true);
    const reason = `no authenticated answer within ${formatSeconds(timeoutMs)}`;
    const deadline = timers.setTimeout(() => this.dispatch({ type: "timed-out", reason }), timeoutMs);
    this.#state = { phase: "handshake", deadline, connected: false };
    openChannel(socket, this.#channelContext(), {
      established: (channel, welcome) => this.#onEstablished(channel, welcome),
      failed: (failure) => this.dispatch({ type: "handshake-failed", failure }),
    });
    socket.once("connect", () => {
      if (this.#state.phase === "handshake") this.#state = { ...this.#state, connected: true };
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.#lastSocketError = error.code === undefined ? error.message : `${error.code} (${error.message})`;
    });
    socket.on("close", () => this.dispatch({ type: "closed", reason: this.#lastSocketError ?? "connection closed" }));
  }

  /** Bound to the port this node reached: a peer on another candidate port cannot relay it. */
  #channelContext() {
    const { jobKey, port, secret, node, rank, relay } = this.options;
    const binding = { protocol: "rendezvous", version: PROTOCOL_VERSION, jobKey, port } as const;
    const about = relay === undefined ? { rank } : { rank, relay };
    return { key: channelKey(secret), binding, node, about };
  }

  #onEstablished(channel: Channel, welcome: About | undefined): void {
    const said = parseWelcomeAbout(welcome);
    if (said === undefined) {
      this.dispatch({ type: "handshake-failed", failure: { kind: "malformed", reason: "bad welcome" } });
      return;
    }
    channel.frames.readWith({
      limits: messageFrameLimit,
      frame: (frame) => this.#onMessage(frame.payload.toString("utf8")),
      error: (reason) => {
        this.dispatch({ type: "closed", reason: `the master broke the protocol (${reason})` });
        this.socket.destroy();
      },
    });
    const { masterPort } = said;
    this.dispatch(masterPort === undefined ? { type: "established" } : { type: "established", masterPort });
  }

  #onMessage(payload: string): void {
    const message = parseMasterMessage(payload);
    if (message === undefined) return;
    if (this.#state.phase === "joined" || this.#state.phase === "started") {
      this.#state = { ...this.#state, heardAt: this.timers.now() };
    }
    this.#onNews(message);
  }

  /** The relay source and the image are news for the callers; the rest moves the state. */
  #onNews(message: MasterMessage): void {
    if (message.type === "relay") this.#waiting.relaySource.resolve({ node: message.node, port: message.port });
    else if (message.type === "image") {
      const { type: _type, ...announced } = message;
      this.#waiting.image.resolve(announced);
    } else this.dispatch(message);
  }

  #onHeartbeat(): void {
    if (this.#state.phase !== "joined" && this.#state.phase !== "started") return;
    const verdict = checkMasterSilence(this.timers.now() - this.#state.heardAt, this.#lostAfterMs);
    if (verdict.type === "timed-out") {
      this.dispatch(verdict);
      return;
    }
    void this.send(verdict);
    const heartbeat = this.timers.setTimeout(() => this.#onHeartbeat(), this.#pingIntervalMs);
    this.#state = { ...this.#state, heartbeat };
  }

  dispatch(input: WorkerInput): void {
    const before = this.#state;
    const next = nextWorkerState(before, input);
    if (next === before) return;
    switch (next.phase) {
      case "refused":
        this.#enterRefused(before, next);
        return;
      case "joined":
      case "started":
        this.#enterSession(before, next);
        return;
      case "settled":
        this.#enterSettled(before, next, input);
        return;
      case "handshake":
        return;
      default: {
        const unreachable: never = next;
        throw new Error(`internal error: unexpected rendezvous state ${String(unreachable)}; please report`);
      }
    }
  }

  #enterRefused(before: LinkState, next: Extract<WorkerState, { phase: "refused" }>): void {
    if (before.phase === "handshake") this.timers.clearTimeout(before.deadline);
    this.#state = next;
    this.socket.destroy();
    const connected = before.phase === "handshake" && before.connected;
    this.resolve({ ok: false, error: next.error, timedOut: next.timedOut, connected });
  }

  #enterSession(before: LinkState, next: SessionState): void {
    if (before.phase === "joined" || before.phase === "started") {
      this.#state = { ...next, heartbeat: before.heartbeat, heardAt: before.heardAt };
      if (next.phase === "started") this.#waiting.go.resolve({ kind: "go" });
      else if (next.moved !== undefined) this.#waiting.remotePorts.resolve({ kind: "ports", moved: next.moved });
      return;
    }
    if (before.phase === "handshake") this.timers.clearTimeout(before.deadline);
    const heartbeat = this.timers.setTimeout(() => this.#onHeartbeat(), this.#pingIntervalMs);
    this.#state = { ...next, heartbeat, heardAt: this.timers.now() };
    this.resolve({ ok: true, session: this.#session() });
  }

  #enterSettled(before: LinkState, next: Extract<WorkerState, { phase: "settled" }>, input: WorkerInput): void {
    if (before.phase === "joined" || before.phase === "started") this.timers.clearTimeout(before.heartbeat);
    this.#state = next;
    for (const waiting of Object.values(this.#waiting)) waiting.resolve(next.outcome);
    // A master that closed or fell silent will read nothing more: no need to wait for it.
    if (input.type === "closed" || input.type === "timed-out") this.socket.destroy();
    else this.#hangUp();
  }

  /** Ends the link gently (a last report still arrives), and for sure within a second. */
  #hangUp(): void {
    this.socket.end();
    const timer = this.timers.setTimeout(() => this.socket.destroy(), 1000);
    this.socket.once("close", () => this.timers.clearTimeout(timer));
  }

  send(message: WorkerMessage): Promise<void> {
    return new Promise((sent) => {
      if (this.socket.destroyed || !this.socket.writable) return sent();
      this.socket.write(encodeMessage(message), () => sent());
    });
  }

  #masterPort(): number | undefined {
    const state = this.#state;
    return state.phase === "joined" || state.phase === "started" ? state.masterPort : undefined;
  }

  #session(): RendezvousWorkerSession {
    const send = (message: WorkerMessage) => this.send(message);
    const waiting = this.#waiting;
    return {
      reportReady: () => send({ type: "ready" }),
      reportRemotePort: (port) => send({ type: "remote-port", port }),
      reportFailed: (message) => send({ type: "failed", message: message.slice(0, 8000) }),
      image: waiting.image.promise,
      relaySource: waiting.relaySource.promise,
      reportPull: (snapshot, from) =>
        send({
          type: "pull",
          done: Math.round(snapshot.bytesDone),
          total: Math.round(snapshot.bytesTotal),
          layers: snapshot.layers,
          layersDone: snapshot.layersDone,
          ...(from === undefined ? {} : { from }),
        }),
      reportPulled: (bytes, ms, from) =>
        send({ type: "pulled", bytes: Math.round(bytes), ms: Math.round(ms), from: from.slice(0, 255) }),
      waitForGo: () => waiting.go.promise,
      port: this.options.port,
      masterPort: () => this.#masterPort(),
      waitForRemotePorts: () => waiting.remotePorts.promise,
      reportExited: (exitCode) => send({ type: "exited", exitCode: toWireExitCode(exitCode) }),
      outcome: waiting.outcome.promise,
      close: () => this.dispatch({ type: "leave" }),
    };
  }
}
