/**
 * One attempt of a worker to join the rendezvous, and the session it becomes: the socket, fed
 * into the state of core/rendezvous/rendezvous-worker-state.ts, and what each change of state does (send
 * hello, give up the attempt, start heartbeats, settle the outcome).
 */
import { connect as netConnect } from "node:net";
import { deferred } from "../../core/common/index.js";
import type { NodePort } from "../../core/ports/index.js";
import {
  encodeMessage,
  type ImageAnnouncement,
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
import { channelKey, openChannel } from "../channel/index.js";
import { formatSeconds, type Timers } from "../process/index.js";
import type { JoinAttempt, LinkOptions, RelaySource, RendezvousWorkerSession } from "./rendezvous-worker-session.js";

export type { JoinAttempt, LinkOptions, RelaySource, RendezvousWorkerSession } from "./rendezvous-worker-session.js";

export function attemptJoin(options: LinkOptions, timers: Timers, timeoutMs: number): Promise<JoinAttempt> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((port, host) => netConnect({ port, host })))(options.port, options.host);
    socket.setKeepAlive(true, 1000);
    socket.setNoDelay(true);
    const pingIntervalMs = options.pingIntervalMs ?? 2000;
    const lostAfterMs = pingIntervalMs * (options.missedPings ?? 3);
    let state: WorkerState = { phase: "handshake" };
    let lastHeardAt = timers.now();
    let heartbeatTimer: unknown;
    const attemptTimer = timers.setTimeout(
      () => dispatch({ type: "timed-out", reason: `no authenticated answer within ${formatSeconds(timeoutMs)}` }),
      timeoutMs,
    );
    // Whichever comes first, what was waited for or the outcome, settles each of these.
    const go = deferred<{ kind: "go" } | WorkerOutcome>();
    const image = deferred<ImageAnnouncement | WorkerOutcome>();
    const remotePorts = deferred<{ kind: "ports"; moved: readonly NodePort[] } | WorkerOutcome>();
    const relaySource = deferred<RelaySource | WorkerOutcome>();
    const outcome = deferred<WorkerOutcome>();
    let masterPort: number | undefined;
    let connected = false;

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
      reportRemotePort: (port) => send({ type: "remote-port", port }),
      reportFailed: (message) => send({ type: "failed", message: message.slice(0, 8000) }),
      image: image.promise,
      relaySource: relaySource.promise,
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
      waitForGo: () => go.promise,
      port: options.port,
      masterPort: () => masterPort,
      waitForRemotePorts: () => remotePorts.promise,
      reportExited: (exitCode) => send({ type: "exited", exitCode: toWireExitCode(exitCode) }),
      outcome: outcome.promise,
      close: () => dispatch({ type: "leave" }),
    };

    function dispatch(input: WorkerInput): void {
      const before = state;
      state = nextWorkerState(before, input);
      if (state === before) return;
      switch (state.phase) {
        case "refused":
          timers.clearTimeout(attemptTimer);
          socket.destroy();
          resolve({ ok: false, error: state.error, timedOut: state.timedOut, connected });
          return;
        case "joined":
          if (before.phase === "joined") {
            if (state.moved !== undefined) remotePorts.resolve({ kind: "ports", moved: state.moved });
            return;
          }
          timers.clearTimeout(attemptTimer);
          lastHeardAt = timers.now();
          heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);
          resolve({ ok: true, session });
          return;
        case "started":
          go.resolve({ kind: "go" });
          return;
        case "settled":
          timers.clearTimeout(heartbeatTimer);
          for (const waiting of [outcome, go, image, remotePorts, relaySource]) waiting.resolve(state.outcome);
          // A master that closed or fell silent will read nothing more: no need to wait for it.
          if (input.type === "closed" || input.type === "timed-out") socket.destroy();
          else hangUp();
          return;
        case "handshake":
          return;
        default: {
          const unreachable: never = state;
          throw new Error(`internal error: unexpected rendezvous state ${String(unreachable)}; please report`);
        }
      }
    }

    const receive = (payload: string): void => {
      const message = parseMasterMessage(payload);
      if (message === undefined) return;
      lastHeardAt = timers.now();
      if (message.type === "relay") relaySource.resolve({ node: message.node, port: message.port });
      else if (message.type === "image") {
        const { type: _type, ...announced } = message;
        image.resolve(announced);
      } else dispatch(message);
    };
    const { node, rank, relay } = options;
    // Bound to the port this node reached: a peer on another candidate port cannot relay it.
    const binding = {
      protocol: "rendezvous",
      version: PROTOCOL_VERSION,
      jobKey: options.jobKey,
      port: options.port,
    } as const;
    const about = relay === undefined ? { rank } : { rank, relay };
    openChannel(
      socket,
      { key: channelKey(options.secret), binding, node, about },
      {
        established(channel, welcome) {
          const said = parseWelcomeAbout(welcome);
          if (said === undefined) {
            dispatch({ type: "handshake-failed", failure: { kind: "malformed", reason: "bad welcome" } });
            return;
          }
          masterPort = said.masterPort;
          channel.frames.readWith({
            limits: messageFrameLimit,
            frame: (frame) => receive(frame.payload.toString("utf8")),
            error: (reason) => {
              dispatch({ type: "closed", reason: `the master broke the protocol (${reason})` });
              socket.destroy();
            },
          });
          dispatch({ type: "established" });
        },
        failed: (failure) => dispatch({ type: "handshake-failed", failure }),
      },
    );
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
