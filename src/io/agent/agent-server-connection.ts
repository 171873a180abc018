/**
 * One connection to the agent server, from accept to its end: the handshake (the client must
 * prove it holds the job's secret before anything is spawned), the exec, then the command's
 * streams with back-pressure both ways (output: the command's pipes pause while the socket is
 * full; input: the stdin window of core/agent/agent-messages.ts), and its exit. The connection's state is the one of
 * core/agent/agent-server-state.ts; this file does what each change of state asks for.
 */
import type { Socket } from "node:net";
import {
  AGENT_PROTOCOL_VERSION,
  clientFrameLimit,
  type ExecRequest,
  nextServerState,
  parseControl,
  receivePhaseOf,
  type ServerInput,
  type ServerState,
  STDIN_WINDOW_BYTES,
} from "../../core/agent/index.js";
import type { RefusalKind } from "../../core/channel/index.js";
import { type Frame, FrameType } from "../../core/channel/index.js";
import { acceptChannel, type Channel, channelKey, writeControl, writeData } from "../channel/index.js";
import type { Timers } from "../process/index.js";
import type { AgentProcess, AgentProcessHandlers } from "./agent-process.js";

export interface AgentConnectionOptions {
  node: string;
  jobKey: string;
  secret: Buffer;
  handshakeTimeoutMs: number;
  timers: Timers;
  /** The client proved it holds the secret: it no longer counts against the handshake bound. */
  onAuthenticated?(): void;
  /** Starts the command; called only for an authenticated client's exec. */
  start(request: ExecRequest, handlers: AgentProcessHandlers): AgentProcess;
  /** A line about this connection, once it proved it holds the secret. */
  log(line: string): void;
  /** A stranger's connection refused: counted, not logged alone (io/channel/refusal-log.ts). */
  refused(kind: RefusalKind, source: string): void;
}

export interface AgentConnection {
  /** Drops a connection still in its handshake to make room for a newer one. */
  crowdOut(): void;
  /** Ends the connection (server shutdown); resolves once the command's processes are gone. */
  shutdown(): Promise<void>;
  /** Resolves when the connection is closed and, if its client went away, its processes killed. */
  readonly finished: Promise<void>;
}

export function serveAgentConnection(socket: Socket, options: AgentConnectionOptions): AgentConnection {
  const { timers } = options;
  const remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  let state: ServerState = { phase: "handshake" };
  let request: ExecRequest | undefined;
  let child: AgentProcess | undefined;
  let killed: Promise<void> = Promise.resolve();
  let outputPaused = false;
  const stdin = { received: 0, taken: 0, granted: STDIN_WINDOW_BYTES };
  let markFinished: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    markFinished = resolve;
  });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 5000);
  const handshakeTimer = timers.setTimeout(() => dispatch({ type: "timed-out" }), options.handshakeTimeoutMs);

  const onOutput = (type: FrameType, chunk: Buffer): void => {
    if (writeData(socket, type, chunk) || outputPaused) return;
    outputPaused = true;
    child?.pauseOutput();
    socket.once("drain", () => {
      outputPaused = false;
      child?.resumeOutput();
    });
  };
  const handlers: AgentProcessHandlers = {
    stdout: (chunk) => onOutput(FrameType.stdout, chunk),
    stderr: (chunk) => onOutput(FrameType.stderr, chunk),
    exited: (status) => dispatch({ type: "child-exited", status }),
  };

  let lingerTimer: unknown;
  /** A peer that never closes its side must not hold the connection (and its fd) forever. */
  const lingerAfterEnd = (): void => {
    lingerTimer = timers.setTimeout(() => socket.destroy(), 10_000);
  };

  function startCommand(): void {
    timers.clearTimeout(handshakeTimer);
    try {
      child = options.start(request as ExecRequest, handlers);
    } catch (error) {
      // spawn() throws (rather than emitting "error") for arguments it refuses outright.
      handlers.stderr(
        Buffer.from(`srun-docker agent on ${options.node}: cannot start the command: ${String(error)}\n`),
      );
      dispatch({ type: "child-exited", status: { code: 255 } });
    }
  }

  function drop(dropped: Extract<typeof state, { phase: "dropped" }>): void {
    timers.clearTimeout(handshakeTimer);
    channel?.frames.stop();
    if (dropped.tell !== undefined) {
      // The channel's handshake sent the reject: let it reach the peer.
      socket.end();
      lingerAfterEnd();
    } else {
      socket.destroy();
    }
    const processes = dropped.spawned ? " (killing what the command started)" : "";
    if (dropped.stranger === undefined) options.log(`${remote}: ${dropped.reason}${processes}`);
    else if (dropped.stranger !== "gone") options.refused(dropped.stranger, socket.remoteAddress ?? "?");
    if (dropped.spawned && child !== undefined) killed = child.terminate();
  }

  function dispatch(input: ServerInput): void {
    const before = state;
    if (before.phase === "handshake" && input.type !== "established" && input.type !== "refused") {
      handshake.input(input.type === "child-exited" || input.type === "exec" ? { type: "shutdown" } : input);
      return;
    }
    state = nextServerState(before, input);
    if (state === before) return;
    switch (state.phase) {
      case "authenticated":
        options.onAuthenticated?.();
        return;
      case "running":
        startCommand();
        return;
      case "exited":
        writeControl(socket, FrameType.exit, state.status);
        socket.end();
        lingerAfterEnd();
        return;
      case "dropped":
        drop(state);
        return;
      case "handshake":
        return;
      default: {
        const unreachable: never = state;
        throw new Error(`internal error: unexpected agent state ${String(unreachable)}; please report`);
      }
    }
  }

  /** Acts on one frame; returns what it means for the connection's state, if anything. */
  const receive = (frame: Frame): ServerInput | undefined => {
    switch (frame.type) {
      case FrameType.exec: {
        const exec = parseControl(FrameType.exec, frame.payload);
        if (exec === undefined) return { type: "malformed", reason: "bad exec request" };
        request = exec;
        return { type: "exec" };
      }
      case FrameType.stdin:
        return receiveStdin(frame.payload);
      case FrameType.stdinEof:
        child?.endStdin();
        return undefined;
      case FrameType.signal: {
        const signal = parseControl(FrameType.signal, frame.payload);
        if (signal === undefined) return { type: "malformed", reason: "bad signal" };
        if (state.phase === "running") child?.signal(signal.name);
        return undefined;
      }
      default:
        return { type: "malformed", reason: `frame type ${frame.type} from a client` };
    }
  };

  /** Passes input on, and grants the client more once the command took a good part of it. */
  const receiveStdin = (data: Buffer): ServerInput | undefined => {
    stdin.received += data.length;
    if (stdin.received > stdin.granted) return { type: "malformed", reason: "input past its window" };
    if (state.phase !== "running" || child === undefined) return undefined;
    child.writeStdin(data, () => {
      stdin.taken += data.length;
      const owed = stdin.taken - (stdin.granted - STDIN_WINDOW_BYTES);
      if (owed >= STDIN_WINDOW_BYTES / 4 || (stdin.taken === stdin.received && owed > 0)) {
        stdin.granted += owed;
        writeControl(socket, FrameType.stdinWindow, { bytes: owed });
      }
    });
    return undefined;
  };

  let channel: Channel | undefined;
  const handshake = acceptChannel(
    socket,
    // The port the client reached: a program on another of the job's ports that relays a
    // client's hello here gets it refused, since the client's MAC names the port it reached.
    {
      key: channelKey(options.secret),
      binding: {
        protocol: "agent",
        version: AGENT_PROTOCOL_VERSION,
        jobKey: options.jobKey,
        port: socket.localPort ?? 0,
      },
      admit: (peer) =>
        peer.node === options.node
          ? { welcome: undefined }
          : { refuse: `asked for ${peer.node}`, tell: `this is ${options.node}, not ${peer.node}` },
    },
    {
      established(established) {
        channel = established;
        established.frames.readWith({
          limits: (type) => {
            const phase = receivePhaseOf(state);
            return phase === undefined ? undefined : clientFrameLimit(phase, type);
          },
          frame: (frame) => {
            const input = receive(frame);
            if (input !== undefined) dispatch(input);
          },
          error: (reason) => dispatch({ type: "malformed", reason }),
        });
        dispatch({ type: "established" });
      },
      refused: ({ reason, tell, stranger }) =>
        dispatch({
          type: "refused",
          reason,
          ...(tell === undefined ? {} : { tell }),
          ...(stranger === undefined ? {} : { stranger }),
        }),
    },
  );
  let socketError: string | undefined;
  socket.on("error", (error: NodeJS.ErrnoException) => {
    socketError ??= error.code ?? error.message;
  });
  socket.on("close", () => {
    timers.clearTimeout(handshakeTimer);
    timers.clearTimeout(lingerTimer);
    dispatch({ type: "closed", reason: socketError ?? "connection closed" });
    void killed.then(markFinished);
  });

  return {
    crowdOut: () => dispatch({ type: "crowded" }),
    shutdown() {
      dispatch({ type: "shutdown" });
      socket.destroy();
      return finished;
    },
    finished,
  };
}
