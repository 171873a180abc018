/**
 * The master's side of the rendezvous: listen, authenticate each worker, wait until every
 * expected node reports ready or fail fast naming each missing node, watch heartbeats for the
 * rest of the job, and finally send done/abort. With the "each" launcher, `start` sends go and
 * each worker reports when its script exited.
 *
 * One state (core/rendezvous/rendezvous-master-state.ts) says where the whole rendezvous stands; this file
 * wires the parts that act on it: rendezvous-master-handshake.ts (a connection until it
 * authenticates), rendezvous-master-session.ts (joined workers, heartbeats, `ready`) and
 * rendezvous-master-shutdown.ts (farewell, linger, close).
 */
import { createServer } from "node:net";
import { createHandshakeSlots, rendezvousHandshakeLimit } from "../../core/channel/index.js";
import type { NodePort } from "../../core/ports/index.js";
import { createRoster, type ImageAnnouncement, isShuttingDown, toWireExitCode } from "../../core/rendezvous/index.js";
import { createRefusalLog } from "../channel/index.js";
import { listenTcpFallback } from "../ports/index.js";
import { realTimers, type Timers } from "../process/index.js";
import type {
  Connection,
  MasterContext,
  MasterEvent,
  ReadyResult,
  RemotePortsResult,
  WorkerExited,
  WorkerLost,
} from "./rendezvous-master-context.js";
import { send } from "./rendezvous-master-context.js";
import { acceptConnection } from "./rendezvous-master-handshake.js";
import { createMasterRelay, type RelayPlan } from "./rendezvous-master-relay.js";
import { createMasterSession, type PullReport } from "./rendezvous-master-session.js";
import { createMasterShutdown } from "./rendezvous-master-shutdown.js";

export type { ReadyWorker } from "../../core/rendezvous/index.js";
export type {
  MasterEvent,
  ReadyResult,
  RemotePortsResult,
  WorkerExited,
  WorkerLost,
} from "./rendezvous-master-context.js";
export type { RelayPlan } from "./rendezvous-master-relay.js";
export type { PullReport } from "./rendezvous-master-session.js";

export interface RendezvousMasterOptions {
  port: number;
  /** Tried in order when `port` is taken (core/ports/port-candidates.ts); workers try them alike. */
  fallbackPorts?: readonly number[];
  /** MASTER_PORT, told to each worker in its welcome. */
  masterPort?: number;
  /** Connections in their handshake at once; default core's rendezvousHandshakeLimit. */
  maxHandshakes?: number;
  /** Address to listen on; default all interfaces. */
  host?: string;
  secret: Buffer;
  /** `${jobId}.${stepId}`: binds every MAC to this job step. */
  jobKey: string;
  /** The worker nodes that must report ready (the master's own node is not one of them). */
  expectedNodes: readonly string[];
  /** How long, from now, the workers have to report ready. */
  deadlineMs: number;
  pingIntervalMs?: number;
  /** A worker silent for this many ping intervals is lost. */
  missedPings?: number;
  /** An unauthenticated connection is dropped after this long. */
  handshakeTimeoutMs?: number;
  /** Grace for workers to read done/abort before their sockets are destroyed. */
  closeGraceMs?: number;
  timers?: Timers;
  onEvent?: (event: MasterEvent) => void;
  /**
   * The strangers' connections refused, one summary line per window (core/channel/refusal-tally.ts),
   * rather than a line per connection-dropped event: another user can open thousands a second.
   */
  onRefusals?: (summary: string) => void;
}

export interface AbortOptions {
  /**
   * How long to keep listening for nodes that have not joined yet, to answer each with abort;
   * it ends as soon as every expected node has been told. Default 10 s; 0 closes at once.
   */
  lingerMs?: number;
}

export const DEFAULT_ABORT_LINGER_MS = 10_000;
/** Node's own default for listen(). */
const DEFAULT_BACKLOG = 511;

export interface RendezvousMaster {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Settles once: every worker ready, or a failure naming each node that is not. Never rejects. */
  readonly ready: Promise<ReadyResult>;
  /** Tells every joined worker, and each that joins later, the image the job runs. Once. */
  announceImage(image: ImageAnnouncement): void;
  /** Workers' reports while they fetch the image. */
  onPull(callback: (node: string, report: PullReport) => void): () => void;
  /** The master's own pull holds the readiness deadline too (a pull has its own limit). */
  holdDeadline(node: string, held: boolean): void;
  /** Settles once every worker said where its sshd listens (`remote-port`), or `ready` failed. */
  readonly remotePorts: Promise<RemotePortsResult>;
  /** Tells every worker which nodes' sshd is off the first candidate (from `remotePorts`). Once. */
  sendMovedPorts(moved: readonly NodePort[]): void;
  /** --pull-once: tells each worker where to get the image, once that node joined. Once. */
  planRelay(plan: RelayPlan): void;
  /** Sends go to every ready worker ("each" launcher); only after `ready` resolved ok. Once. */
  start(): void;
  /** Called for a worker that fails or goes away after `ready` resolved ok, but not after it exited. */
  onWorkerLost(callback: (lost: WorkerLost) => void): () => void;
  /** Called when a worker reports its own job script exited (after `start`). */
  onWorkerExited(callback: (exited: WorkerExited) => void): () => void;
  /** Sends done to every connected worker; resolves once they closed or the grace passed. */
  finish(exitCode: number): Promise<void>;
  /**
   * Sends abort to every connected worker, then lingers for the ones that have not joined (see
   * `AbortOptions`); resolves once everything is closed. `ready`, if pending, resolves as aborted.
   */
  abort(reason: string, options?: AbortOptions): Promise<void>;
  /** Drops everything at once, cutting a linger short; `ready`, if pending, resolves as aborted. */
  close(): void;
}

export async function startRendezvousMaster(options: RendezvousMasterOptions): Promise<RendezvousMaster> {
  const timers = options.timers ?? realTimers;
  const pingIntervalMs = options.pingIntervalMs ?? 2000;
  const refusals = createRefusalLog(options.onRefusals ?? (() => {}), timers);
  const ctx: MasterContext = {
    state: { phase: "gathering" },
    roster: createRoster<Connection>(options.expectedNodes),
    connections: new Set(),
    slots: createHandshakeSlots(options.maxHandshakes ?? rendezvousHandshakeLimit(options.expectedNodes.length)),
    timers,
    startedAt: timers.now(),
    emit: options.onEvent ?? (() => {}),
    refused: refusals.note,
  };
  const session = createMasterSession(ctx, {
    pingIntervalMs,
    lostAfterMs: pingIntervalMs * (options.missedPings ?? 3),
  });
  const handshake = {
    secret: options.secret,
    jobKey: options.jobKey,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
    masterPort: options.masterPort,
  };
  let image: ImageAnnouncement | undefined;
  const tellImage = (conn: Connection) => {
    if (image !== undefined && !isShuttingDown(ctx.state)) send(conn, { type: "image", ...image });
  };
  const relay = createMasterRelay((node) => {
    const state = ctx.roster.get(node);
    return state?.kind === "authenticated" || state?.kind === "ready" ? state.conn : undefined;
  });
  const server = createServer((socket) =>
    acceptConnection(ctx, socket, handshake, {
      onJoined: (conn, relayPort) => {
        shutdown.greetLateWorker(conn);
        tellImage(conn);
        if (!isShuttingDown(ctx.state)) relay.noteJoined(conn, relayPort);
      },
      onMessage: session.receive,
      onClose: session.closed,
    }),
  );
  const shutdown = createMasterShutdown(ctx, server, session, options.closeGraceMs ?? 2000);
  server.on("error", () => {});
  server.on("close", () => refusals.close());
  // srun starts the workers together and each connects at once: the accept queue holds them all
  // (up to net.core.somaxconn); past Node's default 511 the kernel dropped or reset the rest,
  // which joined a second or more later by their retries (see `npm run bench:scale`).
  const backlog = Math.max(DEFAULT_BACKLOG, options.expectedNodes.length + 1);
  const candidates = [options.port, ...(options.fallbackPorts ?? [])];
  const port = await listenTcpFallback(server, candidates, options.host, "rendezvous", backlog);
  ctx.emit({ type: "listening", port });
  session.begin(options.deadlineMs);

  return {
    port,
    ready: session.ready,
    announceImage(announced) {
      if (image !== undefined) throw new Error("internal error: the image was announced twice; please report");
      image = announced;
      for (const conn of ctx.connections) if (conn.node !== undefined) tellImage(conn);
    },
    onPull: session.onPull,
    holdDeadline: session.holdDeadline,
    remotePorts: session.remotePorts,
    sendMovedPorts: session.sendMovedPorts,
    planRelay: (plan) => {
      if (!isShuttingDown(ctx.state)) relay.plan(plan);
    },
    start: session.start,
    onWorkerLost: session.onWorkerLost,
    onWorkerExited: session.onWorkerExited,
    finish: (exitCode) => shutdown.shutdown({ type: "done", exitCode: toWireExitCode(exitCode) }),
    abort: (reason, abortOptions) =>
      shutdown.shutdown(
        { type: "abort", reason: reason.slice(0, 8000) },
        abortOptions?.lingerMs ?? DEFAULT_ABORT_LINGER_MS,
      ),
    close: shutdown.closeNow,
  };
}
