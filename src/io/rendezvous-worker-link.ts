/**
 * One attempt of a worker to join the rendezvous, and the session it becomes: the socket, fed
 * into the state of core/rendezvous-worker-state.ts, and what each change of state does (send
 * hello, give up the attempt, start heartbeats, settle the outcome).
 */
import { connect as netConnect, type Socket } from "node:net";
import type { NodePullSnapshot } from "../core/pull-layer-tally.js";
import {
  createLineDecoder,
  encodeMessage,
  type ImageAnnouncement,
  parseMasterMessage,
  toWireExitCode,
  type WorkerMessage,
} from "../core/rendezvous-protocol.js";
import {
  nextWorkerState,
  type WorkerInput,
  type WorkerOutcome,
  type WorkerState,
} from "../core/rendezvous-worker-state.js";
import { computeMac, createNonce, verifyMac } from "./rendezvous-crypto.js";
import { formatSeconds, type Timers } from "./timers.js";

export interface LinkOptions {
  host: string;
  port: number;
  secret: Buffer;
  jobKey: string;
  node: string;
  rank: number;
  /** The remote-port candidates free on this node, for the master to agree on one. */
  free?: readonly number[];
  pingIntervalMs?: number;
  /** The master is lost after this many ping intervals of silence. */
  missedPings?: number;
  connect?: (port: number, host: string) => Socket;
}

export interface RendezvousWorkerSession {
  /** Each report resolves once its line is handed to the kernel (at once if the link is gone). */
  reportReady(): Promise<void>;
  reportFailed(message: string): Promise<void>;
  /** The image the master announced, or the outcome if that comes first. Never rejects. */
  readonly image: Promise<ImageAnnouncement | WorkerOutcome>;
  /** This node fetches the image: bytes so far of the total (0 while unknown), layers done of those known. */
  reportPull(snapshot: NodePullSnapshot): Promise<void>;
  /** The image is here: how many bytes came, in how long, from where ("registry" or a node). */
  reportPulled(bytes: number, ms: number, from: string): Promise<void>;
  /** "each" launcher: settles on go, or with the outcome if that comes first. Never rejects. */
  waitForGo(): Promise<{ kind: "go" } | WorkerOutcome>;
  /** The master's port this session joined: a fallback candidate when another program held the first. */
  readonly port: number;
  /** MASTER_PORT as the master's welcome said it; undefined from a master that said none. */
  masterPort(): number | undefined;
  /** Settles with the job's remote port once the master says it, or with the outcome first. Never rejects. */
  waitForRemotePort(): Promise<{ kind: "port"; port: number } | WorkerOutcome>;
  /** "each" launcher: this node's script ended; then wait for done/abort through `outcome`. */
  reportExited(exitCode: number): Promise<void>;
  /** Settles once, never rejects. */
  readonly outcome: Promise<WorkerOutcome>;
  /** Leaves the rendezvous; `outcome`, if pending, becomes lost. */
  close(): void;
}

export type JoinAttempt =
  | { ok: true; session: RendezvousWorkerSession }
  /** `connected`: something accepted the connection (and was not our master, or not in time). */
  | { ok: false; error: string; timedOut: boolean; connected: boolean };

export function attemptJoin(options: LinkOptions, timers: Timers, timeoutMs: number): Promise<JoinAttempt> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((port, host) => netConnect({ port, host })))(options.port, options.host);
    socket.setKeepAlive(true, 1000);
    socket.setNoDelay(true);
    const workerNonce = createNonce();
    const macInput = (masterNonce: string) => ({
      jobKey: options.jobKey,
      masterNonce,
      workerNonce,
      node: options.node,
      port: options.port,
    });
    const pingIntervalMs = options.pingIntervalMs ?? 2000;
    const lostAfterMs = pingIntervalMs * (options.missedPings ?? 3);
    let state: WorkerState = { phase: "connecting" };
    let lastHeardAt = timers.now();
    let heartbeatTimer: unknown;
    const attemptTimer = timers.setTimeout(
      () => dispatch({ type: "timed-out", reason: `no authenticated answer within ${formatSeconds(timeoutMs)}` }),
      timeoutMs,
    );
    // Whichever comes first, go or the outcome, settles `go`.
    let resolveGo: (result: { kind: "go" } | WorkerOutcome) => void = () => {};
    const go = new Promise<{ kind: "go" } | WorkerOutcome>((resolve) => {
      resolveGo = resolve;
    });
    let resolveImage: (image: ImageAnnouncement | WorkerOutcome) => void = () => {};
    const image = new Promise<ImageAnnouncement | WorkerOutcome>((resolve) => {
      resolveImage = resolve;
    });
    let resolveRemotePort: (result: { kind: "port"; port: number } | WorkerOutcome) => void = () => {};
    const remotePort = new Promise<{ kind: "port"; port: number } | WorkerOutcome>((resolve) => {
      resolveRemotePort = resolve;
    });
    let masterPort: number | undefined;
    let connected = false;
    let resolveOutcome: (outcome: WorkerOutcome) => void = () => {};
    const outcome = new Promise<WorkerOutcome>((resolve) => {
      resolveOutcome = resolve;
    });

    const send = (message: WorkerMessage): Promise<void> =>
      new Promise((sent) => {
        if (socket.destroyed || !socket.writable) return sent();
        socket.write(encodeMessage(message), () => sent());
      });
    /** Ends the link gently (a last report still arrives), and for sure within a second. */
    const hangUp = (): void => {
      socket.end();
      const timer = timers.setTimeout(() => socket.destroy(), 1000);
      socket.once("close", () => timers.clearTimeout(timer));
    };
    const heartbeat = (): void => {
      const silentMs = timers.now() - lastHeardAt;
      if (silentMs > lostAfterMs) {
        dispatch({ type: "timed-out", reason: `no heartbeat from the master for ${formatSeconds(silentMs)}` });
        return;
      }
      void send({ type: "ping" });
      heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);
    };
    const session: RendezvousWorkerSession = {
      reportReady: () => send({ type: "ready" }),
      reportFailed: (message) => send({ type: "failed", message: message.slice(0, 8000) }),
      image,
      reportPull: (snapshot) =>
        send({
          type: "pull",
          done: Math.round(snapshot.bytesDone),
          total: Math.round(snapshot.bytesTotal),
          layers: snapshot.layers,
          layersDone: snapshot.layersDone,
        }),
      reportPulled: (bytes, ms, from) =>
        send({ type: "pulled", bytes: Math.round(bytes), ms: Math.round(ms), from: from.slice(0, 255) }),
      waitForGo: () => go,
      port: options.port,
      masterPort: () => masterPort,
      waitForRemotePort: () => remotePort,
      reportExited: (exitCode) => send({ type: "exited", exitCode: toWireExitCode(exitCode) }),
      outcome,
      close: () => dispatch({ type: "leave" }),
    };

    function dispatch(input: WorkerInput): void {
      const before = state;
      state = nextWorkerState(before, input);
      if (state === before) return;
      switch (state.phase) {
        case "authenticating": {
          const mac = computeMac(options.secret, "worker", macInput(state.masterNonce));
          const { node, rank, free } = options;
          socket.write(
            encodeMessage({ type: "hello", node, rank, nonce: workerNonce, mac, ...(free ? { free: [...free] } : {}) }),
          );
          return;
        }
        case "refused":
          timers.clearTimeout(attemptTimer);
          socket.destroy();
          resolve({ ok: false, error: state.error, timedOut: state.timedOut, connected });
          return;
        case "joined":
          if (before.phase === "joined") {
            if (state.remotePort !== undefined) resolveRemotePort({ kind: "port", port: state.remotePort });
            return;
          }
          timers.clearTimeout(attemptTimer);
          lastHeardAt = timers.now();
          heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);
          resolve({ ok: true, session });
          return;
        case "started":
          resolveGo({ kind: "go" });
          return;
        case "settled":
          timers.clearTimeout(heartbeatTimer);
          resolveOutcome(state.outcome);
          resolveGo(state.outcome);
          resolveImage(state.outcome);
          resolveRemotePort(state.outcome);
          // A master that closed or fell silent will read nothing more: no need to wait for it.
          if (input.type === "closed" || input.type === "timed-out") socket.destroy();
          else hangUp();
          return;
        case "connecting":
          return;
        default: {
          const unreachable: never = state;
          throw new Error(`internal error: unexpected rendezvous state ${String(unreachable)}; please report`);
        }
      }
    }

    const receive = (line: string): void => {
      const message = parseMasterMessage(line);
      if (message === undefined) return;
      if (state.phase === "joined" || state.phase === "started") lastHeardAt = timers.now();
      if (message.type === "image") {
        // Only an authenticated master's word counts, as for every other message.
        if (state.phase === "joined" || state.phase === "started") {
          const { type: _type, ...announced } = message;
          resolveImage(announced);
        }
        return;
      }
      if (message.type !== "welcome") {
        dispatch(message);
        return;
      }
      const authentic =
        state.phase === "authenticating" &&
        verifyMac(options.secret, "master", macInput(state.masterNonce), message.mac);
      if (authentic) masterPort = message.masterPort;
      dispatch({ type: "welcome", authentic });
    };
    const decoder = createLineDecoder();
    socket.on("data", (chunk: Buffer) => {
      const { lines, overflow } = decoder.push(chunk);
      for (const line of lines) {
        if (socket.destroyed) return;
        receive(line);
      }
      if (overflow) {
        dispatch({ type: "closed", reason: "the peer sent an overlong line" });
        socket.destroy();
      }
    });
    socket.once("connect", () => {
      connected = true;
    });
    let lastSocketError: string | undefined;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      lastSocketError = error.code === undefined ? error.message : `${error.code} (${error.message})`;
    });
    socket.on("close", () => dispatch({ type: "closed", reason: lastSocketError ?? "connection closed" }));
  });
}
