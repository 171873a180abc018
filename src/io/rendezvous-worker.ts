/**
 * A worker's side of the rendezvous: connect to the master, retrying with a bounded backoff
 * until the deadline, authenticate it (HMAC, see rendezvous-protocol.ts), then report ready or
 * failed and wait for done/abort. Until the master proves it holds the secret, whatever it sends
 * is ignored, so another user listening on the port cannot stop or start this node's job.
 * With the "each" launcher the worker also waits for go, then reports when its script exited.
 */
import { connect as netConnect, type Socket } from "node:net";
import { UserError } from "../core/errors.js";
import {
  computeMac,
  createLineDecoder,
  createNonce,
  encodeMessage,
  type MasterMessage,
  PROTOCOL_VERSION,
  parseMasterMessage,
  type ReadyInfo,
  toWireExitCode,
  verifyMac,
  type WorkerMessage,
} from "./rendezvous-protocol.js";
import { formatSeconds, realTimers, sleep, type Timers } from "./timers.js";

export interface RendezvousWorkerOptions {
  host: string;
  port: number;
  secret: Buffer;
  jobKey: string;
  node: string;
  rank: number;
  /** How long, from now, to keep trying to join. */
  deadlineMs: number;
  /** First pause between attempts; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Longest one attempt (connect + handshake) may take. */
  attemptTimeoutMs?: number;
  pingIntervalMs?: number;
  /** The master is lost after this many ping intervals of silence. */
  missedPings?: number;
  timers?: Timers;
  onEvent?: (event: WorkerEvent) => void;
  connect?: (port: number, host: string) => Socket;
}

export type WorkerEvent =
  | { type: "attempt-failed"; attempt: number; error: string }
  | { type: "joined"; attempts: number; elapsedMs: number };

export type WorkerOutcome =
  | { kind: "done"; exitCode: number }
  | { kind: "abort"; reason: string }
  /** The master went away without done: tear down. */
  | { kind: "lost"; reason: string };

export interface RendezvousWorkerSession {
  /** Each report resolves once its line is handed to the kernel (at once if the link is gone). */
  reportReady(info?: ReadyInfo): Promise<void>;
  reportFailed(message: string): Promise<void>;
  /** "each" launcher: settles on go, or with the outcome if that comes first. Never rejects. */
  waitForGo(): Promise<{ kind: "go" } | WorkerOutcome>;
  /** "each" launcher: this node's script ended; then wait for done/abort through `outcome`. */
  reportExited(exitCode: number): Promise<void>;
  /** Settles once, never rejects. */
  readonly outcome: Promise<WorkerOutcome>;
  /** Leaves the rendezvous; `outcome`, if pending, becomes lost. */
  close(): void;
}

/** Routes one socket's lines and close first to the handshake, then to the session. */
interface Link {
  socket: Socket;
  onLine: (line: string) => void;
  onClose: (reason: string) => void;
}

type Resolved<T> = { ok: true; value: T } | { ok: false; error: string; timedOut?: boolean };

export async function connectRendezvousWorker(options: RendezvousWorkerOptions): Promise<RendezvousWorkerSession> {
  const timers = options.timers ?? realTimers;
  const startedAt = timers.now();
  const maxDelay = options.maxRetryDelayMs ?? 2000;
  let delay = options.retryDelayMs ?? 250;
  let lastError = "no attempt made";
  for (let attempt = 1; ; attempt++) {
    const remaining = options.deadlineMs - (timers.now() - startedAt);
    if (remaining <= 0) {
      const where = `${options.host}:${options.port}`;
      throw new UserError(
        "rendezvous-unreachable",
        `node ${options.node} could not join the rendezvous at ${where} within ${formatSeconds(timers.now() - startedAt)} (${attempt - 1} attempts; last: ${lastError})`,
        {
          hint: `check that srun-docker runs on the first node of the step, that ${where} is reachable from this node (--rendezvous-port), and raise --timeout if the master is slow to start`,
        },
      );
    }
    const attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    const result = await attemptJoin(options, timers, Math.min(remaining, attemptTimeoutMs));
    if (result.ok) {
      options.onEvent?.({ type: "joined", attempts: attempt, elapsedMs: timers.now() - startedAt });
      return result.value;
    }
    // An attempt the deadline cut short says less than the one before it.
    if (attempt === 1 || !(remaining < attemptTimeoutMs && result.timedOut)) lastError = result.error;
    options.onEvent?.({ type: "attempt-failed", attempt, error: result.error });
    await sleep(Math.min(delay, options.deadlineMs - (timers.now() - startedAt)), timers);
    delay = Math.min(delay * 2, maxDelay);
  }
}

function attemptJoin(
  options: RendezvousWorkerOptions,
  timers: Timers,
  timeoutMs: number,
): Promise<Resolved<RendezvousWorkerSession>> {
  return new Promise((resolve) => {
    const socket = (options.connect ?? ((port, host) => netConnect({ port, host })))(options.port, options.host);
    socket.setKeepAlive(true, 1000);
    socket.setNoDelay(true);
    const workerNonce = createNonce();
    let masterNonce: string | undefined;
    let settled = false;
    const finish = (result: Resolved<RendezvousWorkerSession>): void => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const timer = timers.setTimeout(
      () => finish({ ok: false, error: `no authenticated answer within ${formatSeconds(timeoutMs)}`, timedOut: true }),
      timeoutMs,
    );
    const link: Link = {
      socket,
      onClose: (reason) => finish({ ok: false, error: reason }),
      onLine: (line) => {
        // Before the master proves itself, only challenge, welcome and reject mean anything.
        const message = parseMasterMessage(line);
        if (message?.type === "reject") finish({ ok: false, error: `the master refused this node: ${message.reason}` });
        if (message?.type === "challenge" && masterNonce === undefined) {
          if (message.v !== PROTOCOL_VERSION) {
            return finish({
              ok: false,
              error: `the master speaks protocol ${message.v}, this node ${PROTOCOL_VERSION} (use one srun-docker version on every node)`,
            });
          }
          masterNonce = message.nonce;
          const input = { jobKey: options.jobKey, masterNonce, workerNonce, node: options.node };
          const hello: WorkerMessage = {
            type: "hello",
            node: options.node,
            rank: options.rank,
            nonce: workerNonce,
            mac: computeMac(options.secret, "worker", input),
          };
          socket.write(encodeMessage(hello));
        }
        if (message?.type === "welcome" && masterNonce !== undefined) {
          const input = { jobKey: options.jobKey, masterNonce, workerNonce, node: options.node };
          if (!verifyMac(options.secret, "master", input, message.mac)) {
            return finish({
              ok: false,
              error: "the peer on the rendezvous port failed authentication (not our master)",
            });
          }
          finish({ ok: true, value: startSession(link, options, timers) });
        }
      },
    };
    const decoder = createLineDecoder();
    socket.on("data", (chunk: Buffer) => {
      const { lines, overflow } = decoder.push(chunk);
      for (const line of lines) {
        if (socket.destroyed) return;
        link.onLine(line);
      }
      if (overflow) {
        link.onClose("the peer sent an overlong line");
        socket.destroy();
      }
    });
    let lastSocketError: string | undefined;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      lastSocketError = error.code === undefined ? error.message : `${error.code} (${error.message})`;
    });
    socket.on("close", () => link.onClose(lastSocketError ?? "connection closed"));
  });
}

/** The authenticated connection: heartbeats both ways, and the one outcome. */
function startSession(link: Link, options: RendezvousWorkerOptions, timers: Timers): RendezvousWorkerSession {
  const pingIntervalMs = options.pingIntervalMs ?? 2000;
  const lostAfterMs = pingIntervalMs * (options.missedPings ?? 3);
  let lastHeardAt = timers.now();
  let settled = false;
  let resolveOutcome: (outcome: WorkerOutcome) => void = () => {};
  const outcome = new Promise<WorkerOutcome>((resolve) => {
    resolveOutcome = resolve;
  });
  // Whichever comes first, go or the outcome, settles it.
  let resolveGo: (result: { kind: "go" } | WorkerOutcome) => void = () => {};
  const go = new Promise<{ kind: "go" } | WorkerOutcome>((resolve) => {
    resolveGo = resolve;
  });

  const send = (message: WorkerMessage): Promise<void> =>
    new Promise((resolve) => {
      if (link.socket.destroyed || !link.socket.writable) return resolve();
      link.socket.write(encodeMessage(message), () => resolve());
    });
  /** Ends the link gently (a last report still arrives), and for sure within a second. */
  const hangUp = (): void => {
    link.socket.end();
    const timer = timers.setTimeout(() => link.socket.destroy(), 1000);
    link.socket.once("close", () => timers.clearTimeout(timer));
  };
  const settle = (result: WorkerOutcome, gently = true): void => {
    if (settled) return;
    settled = true;
    timers.clearTimeout(heartbeatTimer);
    resolveOutcome(result);
    resolveGo(result);
    if (gently) hangUp();
    else link.socket.destroy();
  };
  const heartbeat = (): void => {
    const silentMs = timers.now() - lastHeardAt;
    if (silentMs > lostAfterMs) {
      return settle({ kind: "lost", reason: `no heartbeat from the master for ${formatSeconds(silentMs)}` }, false);
    }
    void send({ type: "ping" });
    heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);
  };
  let heartbeatTimer = timers.setTimeout(heartbeat, pingIntervalMs);

  link.onClose = (reason) =>
    settle({ kind: "lost", reason: `the master closed the connection without done (${reason})` }, false);
  link.onLine = (line) => {
    const message: MasterMessage | undefined = parseMasterMessage(line);
    if (message === undefined) return;
    lastHeardAt = timers.now();
    if (message.type === "go" && !settled) resolveGo({ kind: "go" });
    if (message.type === "done") settle({ kind: "done", exitCode: message.exitCode });
    if (message.type === "abort") settle({ kind: "abort", reason: message.reason });
  };

  return {
    reportReady: (info) => send({ type: "ready", ...(info === undefined ? {} : { info }) }),
    reportFailed: (message) => send({ type: "failed", message: message.slice(0, 8000) }),
    waitForGo: () => go,
    reportExited: (exitCode) => send({ type: "exited", exitCode: toWireExitCode(exitCode) }),
    outcome,
    close: () => settle({ kind: "lost", reason: "left by this node" }),
  };
}
