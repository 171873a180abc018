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
  FRESH_STDIN_WINDOW,
  nextServerState,
  parseControl,
  receivePhaseOf,
  receiveStdin,
  type ServerInput,
  type ServerState,
  type StdinWindow,
  takeStdin,
} from "../../core/agent/index.js";
import type { RefusalKind } from "../../core/channel/index.js";
import { type Frame, FrameType } from "../../core/channel/index.js";
import { deferred } from "../../core/common/index.js";
import {
  type AcceptOptions,
  acceptChannel,
  type Channel,
  channelKey,
  type Handshake,
  writeControl,
  writeData,
} from "../channel/index.js";
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
  return new ServerConnection(socket, options).start();
}

/** The connection's state, with what this side holds in each phase. */
type ConnectionState =
  /** `deadline`: the handshake's timeout, which also bounds the wait for the exec. */
  | (Extract<ServerState, { phase: "handshake" }> & { deadline: unknown })
  /** `channel`: the socket past its handshake, whose frames the connection reads. */
  | (Extract<ServerState, { phase: "authenticated" }> & { deadline: unknown; channel: Channel })
  /**
   * `child`: the command (undefined when it could not start); `stdin`: the input window;
   * `outputPaused`: the command's pipes wait for the socket to drain.
   */
  | (Extract<ServerState, { phase: "running" }> & Running)
  /** `linger`: a peer that never closes its side must not hold the connection (and its fd) forever. */
  | (Extract<ServerState, { phase: "exited" }> & { linger: unknown })
  /** `killed`: resolves once what the command started is gone. */
  | (Extract<ServerState, { phase: "dropped" }> & { linger: unknown; killed: Promise<void> });

interface Running {
  channel: Channel;
  child: AgentProcess | undefined;
  stdin: StdinWindow;
  outputPaused: boolean;
}

class ServerConnection {
  #state: ConnectionState = { phase: "handshake", deadline: undefined };
  readonly #remote: string;
  readonly #finished = deferred<void>();
  readonly #handlers: AgentProcessHandlers = {
    stdout: (chunk) => this.#onOutput(FrameType.stdout, chunk),
    stderr: (chunk) => this.#onOutput(FrameType.stderr, chunk),
    exited: (status) => this.dispatch({ type: "child-exited", status }),
  };
  #handshake: Handshake | undefined;
  #socketError: string | undefined;

  constructor(
    readonly socket: Socket,
    readonly options: AgentConnectionOptions,
  ) {
    this.#remote = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
  }

  start(): AgentConnection {
    const { socket, options } = this;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5000);
    const deadline = options.timers.setTimeout(() => this.dispatch({ type: "timed-out" }), options.handshakeTimeoutMs);
    this.#state = { phase: "handshake", deadline };
    this.#handshake = acceptChannel(socket, this.#channelOptions(), {
      established: (channel) => this.#onEstablished(channel),
      refused: ({ reason, tell, stranger }) =>
        this.dispatch({
          type: "refused",
          reason,
          ...(tell === undefined ? {} : { tell }),
          ...(stranger === undefined ? {} : { stranger }),
        }),
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.#socketError ??= error.code ?? error.message;
    });
    socket.on("close", () => this.#onClose());
    return {
      crowdOut: () => this.dispatch({ type: "crowded" }),
      shutdown: () => {
        this.dispatch({ type: "shutdown" });
        socket.destroy();
        return this.#finished.promise;
      },
      finished: this.#finished.promise,
    };
  }

  /**
   * The port the client reached: a program on another of the job's ports that relays a
   * client's hello here gets it refused, since the client's MAC names the port it reached.
   */
  #channelOptions(): AcceptOptions {
    const { node, jobKey, secret } = this.options;
    const port = this.socket.localPort ?? 0;
    return {
      key: channelKey(secret),
      binding: { protocol: "agent", version: AGENT_PROTOCOL_VERSION, jobKey, port },
      admit: (peer) =>
        peer.node === node
          ? { welcome: undefined }
          : { refuse: `asked for ${peer.node}`, tell: `this is ${node}, not ${peer.node}` },
    };
  }

  #onEstablished(channel: Channel): void {
    channel.frames.readWith({
      limits: (type) => {
        const phase = receivePhaseOf(this.#state);
        return phase === undefined ? undefined : clientFrameLimit(phase, type);
      },
      frame: (frame) => this.#onFrame(frame),
      error: (reason) => this.dispatch({ type: "malformed", reason }),
    });
    const before = this.#state;
    const next = nextServerState(before, { type: "established" });
    if (before.phase !== "handshake" || next.phase !== "authenticated") return;
    this.#state = { ...next, deadline: before.deadline, channel };
    this.options.onAuthenticated?.();
  }

  #onClose(): void {
    const state = this.#state;
    if (state.phase === "handshake" || state.phase === "authenticated")
      this.options.timers.clearTimeout(state.deadline);
    if (state.phase === "exited" || state.phase === "dropped") this.options.timers.clearTimeout(state.linger);
    this.dispatch({ type: "closed", reason: this.#socketError ?? "connection closed" });
    const after = this.#state;
    void (after.phase === "dropped" ? after.killed : Promise.resolve()).then(() => this.#finished.resolve());
  }

  /** Acts on one frame; what it means for the connection's state goes to dispatch. */
  #onFrame(frame: Frame): void {
    switch (frame.type) {
      case FrameType.exec: {
        const request = parseControl(FrameType.exec, frame.payload);
        if (request === undefined) this.dispatch({ type: "malformed", reason: "bad exec request" });
        else this.#onExec(request);
        return;
      }
      case FrameType.stdin:
        this.#onStdin(frame.payload);
        return;
      case FrameType.stdinEof:
        if (this.#state.phase === "running") this.#state.child?.endStdin();
        return;
      case FrameType.signal: {
        const signal = parseControl(FrameType.signal, frame.payload);
        if (signal === undefined) this.dispatch({ type: "malformed", reason: "bad signal" });
        else if (this.#state.phase === "running") this.#state.child?.signal(signal.name);
        return;
      }
      default:
        this.dispatch({ type: "malformed", reason: `frame type ${frame.type} from a client` });
    }
  }

  #onExec(request: ExecRequest): void {
    const before = this.#state;
    const next = nextServerState(before, { type: "exec" });
    if (before.phase !== "authenticated" || next.phase !== "running") return;
    this.options.timers.clearTimeout(before.deadline);
    const running: Running = {
      channel: before.channel,
      child: undefined,
      stdin: FRESH_STDIN_WINDOW,
      outputPaused: false,
    };
    this.#state = { ...next, ...running };
    try {
      const child = this.options.start(request, this.#handlers);
      if (this.#state.phase === "running") this.#state = { ...this.#state, child };
    } catch (error) {
      // spawn() throws (rather than emitting "error") for arguments it refuses outright.
      const line = `srun-docker agent on ${this.options.node}: cannot start the command: ${String(error)}\n`;
      this.#handlers.stderr(Buffer.from(line));
      this.dispatch({ type: "child-exited", status: { code: 255 } });
    }
  }

  /** Passes input on, and grants the client more once the command took a good part of it. */
  #onStdin(data: Buffer): void {
    const state = this.#state;
    if (state.phase !== "running") return;
    const stdin = receiveStdin(state.stdin, data.length);
    if (stdin === undefined) {
      this.dispatch({ type: "malformed", reason: "input past its window" });
      return;
    }
    this.#state = { ...state, stdin };
    state.child?.writeStdin(data, () => this.#onStdinTaken(data.length));
  }

  #onStdinTaken(bytes: number): void {
    if (this.#state.phase !== "running") return;
    const { window, grant } = takeStdin(this.#state.stdin, bytes);
    this.#state = { ...this.#state, stdin: window };
    if (grant > 0) writeControl(this.socket, FrameType.stdinWindow, { bytes: grant });
  }

  #onOutput(type: FrameType, chunk: Buffer): void {
    const state = this.#state;
    if (writeData(this.socket, type, chunk) || state.phase !== "running" || state.outputPaused) return;
    this.#state = { ...state, outputPaused: true };
    state.child?.pauseOutput();
    this.socket.once("drain", () => {
      if (this.#state.phase === "running") this.#state = { ...this.#state, outputPaused: false };
      state.child?.resumeOutput();
    });
  }

  dispatch(input: ServerInput): void {
    const before = this.#state;
    if (before.phase === "handshake" && input.type !== "established" && input.type !== "refused") {
      // The channel's handshake decides how a connection in it ends (and counts the stranger).
      this.#handshake?.input(input.type === "child-exited" || input.type === "exec" ? { type: "shutdown" } : input);
      return;
    }
    const next = nextServerState(before, input);
    if (next === before) return;
    switch (next.phase) {
      case "exited":
        this.#enterExited(next);
        return;
      case "dropped":
        this.#enterDropped(before, next);
        return;
      // Entered only through #onEstablished and #onExec, which hold what those phases carry.
      case "handshake":
      case "authenticated":
      case "running":
        return;
      default: {
        const unreachable: never = next;
        throw new Error(`internal error: unexpected agent state ${String(unreachable)}; please report`);
      }
    }
  }

  #enterExited(next: Extract<ServerState, { phase: "exited" }>): void {
    writeControl(this.socket, FrameType.exit, next.status);
    this.socket.end();
    this.#state = { ...next, linger: this.#lingerAfterEnd() };
  }

  #enterDropped(before: ConnectionState, next: Extract<ServerState, { phase: "dropped" }>): void {
    if (before.phase === "handshake" || before.phase === "authenticated")
      this.options.timers.clearTimeout(before.deadline);
    if (before.phase === "authenticated" || before.phase === "running") before.channel.frames.stop();
    let linger: unknown;
    if (next.tell !== undefined) {
      // The channel's handshake sent the reject: let it reach the peer.
      this.socket.end();
      linger = this.#lingerAfterEnd();
    } else {
      this.socket.destroy();
    }
    const child = before.phase === "running" ? before.child : undefined;
    const killed = next.spawned && child !== undefined ? child.terminate() : Promise.resolve();
    this.#state = { ...next, linger, killed };
    this.#say(next);
  }

  #say(dropped: Extract<ServerState, { phase: "dropped" }>): void {
    const processes = dropped.spawned ? " (killing what the command started)" : "";
    if (dropped.stranger === undefined) this.options.log(`${this.#remote}: ${dropped.reason}${processes}`);
    else if (dropped.stranger !== "gone") this.options.refused(dropped.stranger, this.socket.remoteAddress ?? "?");
  }

  #lingerAfterEnd(): unknown {
    return this.options.timers.setTimeout(() => this.socket.destroy(), 10_000);
  }
}
