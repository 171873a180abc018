/**
 * The agent server: the container's main process on every node of a job (it runs as the job's
 * user already), listening on the host's network on the first of the job's agent ports it can
 * bind itself (another program may hold one; nobody probes them for it). Each connection is
 * one remote command (io/agent/agent-server-connection.ts); this file listens, learns once what the
 * image offers (a home to start in, a login shell, `script` for ptys), starts the commands,
 * and on close kills every session's processes.
 */
import { access, constants as fsConstants, stat, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { userInfo } from "node:os";
import type { ExecRequest } from "../../core/agent/index.js";
import { buildAgentSpawn, withSessionDefaults } from "../../core/agent/index.js";
import { AGENT_HANDSHAKE_LIMIT, createHandshakeSlots } from "../../core/channel/index.js";
import { createNonce, createRefusalLog } from "../channel/index.js";
import { listenTcpFallback } from "../ports/index.js";
import { realTimers, runCommand, type Spawn, type Timers } from "../process/index.js";
import { type AgentProcessHandlers, startAgentProcess } from "./agent-process.js";
import { type AgentConnection, serveAgentConnection } from "./agent-server-connection.js";

export interface AgentServerOptions {
  /** This node's name: clients must ask for it by this name. */
  node: string;
  jobKey: string;
  secret: Buffer;
  /** Tried in order: the server listens on the first it can bind (0: any free port). */
  ports: readonly number[];
  /**
   * Where to say the port it holds, once it listens: the node's srun-docker waits for it there
   * (core/engine/dead-man-switch.ts).
   */
  portFile?: string;
  /** Default: every address (the job's nodes reach it over the host's network). */
  host?: string;
  /**
   * The node's job environment: every command starts with it (plus TERM/LANG of its client);
   * USER, LOGNAME, HOME, SHELL and PATH default as sshd would set them.
   */
  env: Readonly<Record<string, string>>;
  /** Where commands start; default the job environment's HOME, else the user's; "/" if missing. */
  home?: string;
  /** An unauthenticated connection, or one that sends no command, is dropped after this long. */
  handshakeTimeoutMs?: number;
  /** Connections in their handshake at once (core/channel/handshake-slots.ts); default AGENT_HANDSHAKE_LIMIT. */
  maxHandshakes?: number;
  /** Between SIGHUP and SIGKILL for the processes of a client that went away. */
  killGraceMs?: number;
  timers?: Timers;
  spawn?: Spawn;
  findSession?: (sessionId: string) => Promise<number[]>;
  /** One diagnostic line; default stderr, prefixed `[node agent]`. */
  log?: (line: string) => void;
}

export interface AgentServer {
  /** The port bound (the real one when asked for 0). */
  readonly port: number;
  /** Connections open now. */
  connectionCount(): number;
  /** Stops listening and kills what every open session started; resolves once all are gone. */
  close(): Promise<void>;
}

export async function runAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const timers = options.timers ?? realTimers;
  const log = options.log ?? ((line: string) => process.stderr.write(`[${options.node} agent] ${line}\n`));
  const [cwd, loginShell, scriptAvailable] = await Promise.all([
    chooseHome(options, log),
    chooseLoginShell(options.env),
    hasUtilLinuxScript(options.env, options.spawn),
  ]);
  const jobEnv = withSessionDefaults(options.env, { user: safeUserInfo()?.username, home: cwd, shell: loginShell });
  const start = (request: ExecRequest, handlers: AgentProcessHandlers) => {
    const sessionId = createNonce();
    const plan = buildAgentSpawn({ request, jobEnv, loginShell, scriptAvailable, sessionId });
    if (plan.notice !== undefined)
      handlers.stderr(Buffer.from(`srun-docker agent on ${options.node}: ${plan.notice}\n`));
    return startAgentProcess(
      {
        plan,
        cwd,
        sessionId,
        killGraceMs: options.killGraceMs ?? 1000,
        timers,
        ...(options.spawn === undefined ? {} : { spawn: options.spawn }),
        ...(options.findSession === undefined ? {} : { findSession: options.findSession }),
      },
      handlers,
    );
  };
  const connections = new Set<AgentConnection>();
  // Another user flooding the port holds a bounded number of connections; the oldest of a
  // flood makes room for each newcomer, and an authenticated client is never dropped for it.
  const handshaking = createHandshakeSlots<AgentConnection>(options.maxHandshakes ?? AGENT_HANDSHAKE_LIMIT);
  // Their refusals are one line per window, so a flood does not grow the container's log.
  const refusals = createRefusalLog(log, timers);
  const server = createServer({ noDelay: true }, (socket: Socket) => {
    const connection: AgentConnection = serveAgentConnection(socket, {
      node: options.node,
      jobKey: options.jobKey,
      secret: options.secret,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
      timers,
      start,
      log,
      refused: refusals.note,
      onAuthenticated: () => handshaking.release(connection),
    });
    connections.add(connection);
    handshaking.admit(connection, socket.remoteAddress ?? "?")?.crowdOut();
    void connection.finished.then(() => {
      connections.delete(connection);
      handshaking.release(connection);
    });
  });
  const port = await listenTcpFallback(server, options.ports, options.host, "agent");
  if (options.portFile !== undefined) await writeFile(options.portFile, `${port}\n`);
  let closing: Promise<void> | undefined;
  return {
    port,
    connectionCount: () => connections.size,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...connections].map((connection) => connection.shutdown()));
        await stopped;
        refusals.close();
      })();
      return closing;
    },
  };
}

async function chooseHome(options: AgentServerOptions, log: (line: string) => void): Promise<string> {
  const home = options.home ?? options.env.HOME ?? safeUserInfo()?.homedir;
  if (home !== undefined && (await stat(home).catch(() => undefined))?.isDirectory()) return home;
  // sshd does the same: say so, and start in "/".
  log(`no home directory ${home ?? "(HOME unset)"} in this container; commands start in /`);
  return "/";
}

/** The passwd entry's shell (as sshd), else the job's SHELL, when the image has it; else /bin/sh. */
async function chooseLoginShell(env: Readonly<Record<string, string>>): Promise<string> {
  for (const shell of [safeUserInfo()?.shell, env.SHELL]) {
    if (
      shell?.startsWith("/") &&
      (await access(shell, fsConstants.X_OK).then(
        () => true,
        () => false,
      ))
    )
      return shell;
  }
  return "/bin/sh";
}

/** A user without a passwd entry in the image (docker --user uid:gid) has no userInfo. */
function safeUserInfo(): { username: string; homedir: string; shell: string | null } | undefined {
  try {
    return userInfo();
  } catch {
    return undefined;
  }
}

/** util-linux `script` gives a pty (`-e` passes the exit status on); busybox's lacks `-e`. */
async function hasUtilLinuxScript(env: Readonly<Record<string, string>>, spawn: Spawn | undefined): Promise<boolean> {
  try {
    const result = await runCommand("script", ["--version"], {
      env: { ...env },
      timeoutMs: 5000,
      ...(spawn === undefined ? {} : { spawn }),
    });
    return result.exitCode === 0 && result.stdout.includes("util-linux");
  } catch {
    return false;
  }
}
