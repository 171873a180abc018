/**
 * The Slurm relay's host end: a unix socket in the node's job dir (0700, the user's; the
 * container sees it at the same path), served by the node's srun-docker for as long as its run
 * lasts, which is longer than the script. Each connection is one command
 * (io/slurm-relay/slurm-relay-connection.ts). The socket is private to the user, and still
 * every connection must prove in the handshake that it holds this job step's secret: another
 * job of the same user, or a container of another step, holds another.
 */
import { chmod, mkdir, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { dirname } from "node:path";
import { channelKey, createRefusalLog } from "../channel/index.js";
import { realTimers, type Timers } from "../process/index.js";
import { type ConnectionContext, serveSlurmConnection } from "./slurm-relay-connection.js";

/** Longest path of a unix socket Linux takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

export interface SlurmRelayOptions {
  socketPath: string;
  /** The job step's secret: the relay's handshake is keyed with it. */
  secret: Buffer;
  jobKey: string;
  /** This node's name: the only one a client's hello may name. */
  node: string;
  /** The environment the commands start from (the job's, as Slurm gave it to this process). */
  hostEnv: Readonly<Record<string, string | undefined>>;
  /** Where a command runs when the container's directory does not exist on the host. */
  hostCwd: string;
  say(line: string): void;
  timers?: Timers;
  /** How long a connection may take to authenticate; default 10 s. */
  handshakeTimeoutMs?: number;
}

export interface SlurmRelay {
  readonly socketPath: string;
  /** Stops taking commands, ends those still running (SIGTERM, then SIGKILL), removes the socket. */
  close(): Promise<void>;
}

/** Why the relay cannot serve at `socketPath`, or undefined when it can. */
export function unservablePath(socketPath: string): string | undefined {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes <= MAX_SOCKET_PATH_BYTES) return undefined;
  return `its socket path would be ${bytes} bytes long (${socketPath}), and Linux takes at most ${MAX_SOCKET_PATH_BYTES}`;
}

export async function startSlurmRelay(options: SlurmRelayOptions): Promise<SlurmRelay> {
  const { socketPath } = options;
  const unservable = unservablePath(socketPath);
  if (unservable !== undefined) throw new Error(unservable);
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await rm(socketPath, { force: true });
  const timers = options.timers ?? realTimers;
  const refusals = createRefusalLog((line) => options.say(`slurm relay: ${line}`), timers);
  const open = new Set<() => void>();
  const ctx: ConnectionContext = {
    key: channelKey(options.secret),
    jobKey: options.jobKey,
    node: options.node,
    hostEnv: options.hostEnv,
    hostCwd: options.hostCwd,
    timers,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    refused: (kind) => refusals.note(kind, "this node"),
    open: (shutdown) => {
      open.add(shutdown);
      return () => open.delete(shutdown);
    },
  };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveSlurmConnection(socket, ctx);
  });
  await listen(server, socketPath);
  await chmod(socketPath, 0o600);
  return {
    socketPath,
    close: async () => {
      for (const shutdown of [...open]) shutdown();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      refusals.close();
      await rm(socketPath, { force: true });
    },
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
