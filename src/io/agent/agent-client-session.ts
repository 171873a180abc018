/**
 * One remote command, client side: find the node's agent among the job's ports
 * (io/agent/agent-connect.ts), prove we hold the job's secret and check that it does too, on the port
 * we reached, send the command, then carry stdin, stdout and stderr with
 * back-pressure both ways and forward termination signals until the remote exit. The state is
 * the one of core/agent/agent-session-state.ts; this file does what each change asks for.
 */
import type { Socket } from "node:net";
import {
  AGENT_PROTOCOL_VERSION,
  type ClientInput,
  type ClientState,
  clientEnding,
  EXIT_SSH_FAILURE,
  type ExecRequest,
  encodeControl,
  type LocalSignal,
  nextClientState,
  type PassedOnSignal,
  parseControl,
  serverFrameLimit,
} from "../../core/agent/index.js";
import { type Frame, FrameType, MAX_EXEC_BYTES } from "../../core/channel/index.js";
import type { AgentNode } from "../../core/ssh/index.js";
import { type Channel, channelKey, openChannel, writeControl, writeFrame } from "../channel/index.js";
import { formatSeconds, type Timers } from "../process/index.js";
import { createInputPump, type InputSource } from "./agent-client-input.js";
import { describeConnectError, onFirstAgentPort, type PortOutcome } from "./agent-connect.js";

export interface ClientStreams {
  stdin: InputSource;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** The part of `process` that delivers signals; tests pass an EventEmitter. */
export interface ClientSignals {
  on(event: LocalSignal | PassedOnSignal, listener: () => void): unknown;
  off(event: LocalSignal | PassedOnSignal, listener: () => void): unknown;
}

export interface RemoteCommandOptions {
  node: AgentNode;
  /** The job's agent ports, in the order every agent tries them: the node's holds one of them. */
  ports: readonly number[];
  request: ExecRequest;
  /** -n: send EOF at once, read nothing from our stdin. */
  noStdin: boolean;
  secret: Buffer;
  jobKey: string;
  streams: ClientStreams;
  signals: ClientSignals;
  timers: Timers;
  /** Connecting and the handshake together, over every port. */
  timeoutMs: number;
  /** Longest one port may take to prove it is the agent (io/agent/agent-connect.ts). */
  candidateTimeoutMs?: number;
  /** Only prove that the node's agent answers, then close (0): no command. */
  probe?: boolean;
  connect?: (port: number, host: string) => Socket;
}

const LOCAL_SIGNALS: LocalSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const PASSED_ON_SIGNALS: PassedOnSignal[] = ["SIGUSR1", "SIGUSR2"];

/** Resolves with the exit code: the remote's, 128+n for its signal n, 255 when it never ran. */
export async function runRemoteCommand(options: RemoteCommandOptions): Promise<number> {
  const { node, streams } = options;
  const exec = encodeControl(FrameType.exec, options.request);
  if (exec.length > MAX_EXEC_BYTES) {
    streams.stderr.write(`srun-docker ssh: ${node.name}: the command is too long (${exec.length} bytes)\n`);
    return EXIT_SSH_FAILURE;
  }
  const target = { ...options, address: node.address, open: options.connect };
  const ran = await onFirstAgentPort(target, (socket, port, timeoutMs) =>
    runSession(options, socket, exec, port, timeoutMs),
  );
  if (typeof ran === "number") return ran;
  streams.stderr.write(`srun-docker ssh: ${node.name}: ${ran}\n`);
  return EXIT_SSH_FAILURE;
}

/**
 * The command on one port: its exit code once it ran, or, when the handshake failed there (not
 * the node's agent, or not yet), why, with nothing said: the next port may be the agent.
 */
function runSession(
  options: RemoteCommandOptions,
  socket: Socket,
  exec: Buffer,
  port: number,
  timeoutMs: number,
): Promise<PortOutcome> {
  return new Promise((resolve) => new ClientSession(options, socket, exec, port, resolve).start(timeoutMs));
}

/** The client's state, with what this side holds in each phase. */
type SessionState =
  /** `deadline`: the handshake's timeout. */
  | (Extract<ClientState, { phase: "handshake" }> & { deadline: unknown })
  /** `channel`: the socket past its handshake, whose frames the session reads. */
  | (Extract<ClientState, { phase: "running" }> & { channel: Channel })
  | Extract<ClientState, { phase: "exited" | "failed" }>;

class ClientSession {
  #state: SessionState = { phase: "handshake", deadline: undefined };
  readonly #where: string;
  readonly #stdinPump: ReturnType<typeof createInputPump>;
  /** stdout and stderr while full: the socket is paused until both drained. */
  readonly #full = new Set<NodeJS.WritableStream>();
  readonly #onSignal: ReadonlyArray<readonly [LocalSignal | PassedOnSignal, () => void]>;
  // Our reader went away (`ssh node cmd | head`): end like ssh killed by SIGPIPE.
  readonly #onOutputError = (): void => this.dispatch({ type: "local-end", exitCode: 141 });
  #socketError: string | undefined;

  constructor(
    readonly options: RemoteCommandOptions,
    readonly socket: Socket,
    readonly exec: Buffer,
    readonly port: number,
    readonly resolve: (outcome: PortOutcome) => void,
  ) {
    this.#where = `its agent at ${options.node.address}:${port}`;
    const { streams, request, noStdin } = options;
    this.#stdinPump = createInputPump(socket, streams.stdin, { noStdin, pty: request.pty });
    this.#onSignal = [
      ...LOCAL_SIGNALS.map((name) => [name, () => this.dispatch({ type: "signal", name })] as const),
      ...PASSED_ON_SIGNALS.map((name) => [name, () => this.dispatch({ type: "pass-on", name })] as const),
    ];
  }

  start(timeoutMs: number): void {
    const { socket, options } = this;
    socket.setNoDelay(true);
    const reason = `no answer from ${this.#where} within ${formatSeconds(timeoutMs)}`;
    const deadline = options.timers.setTimeout(() => this.dispatch({ type: "timed-out", reason }), timeoutMs);
    this.#state = { phase: "handshake", deadline };
    for (const [name, listener] of this.#onSignal) options.signals.on(name, listener);
    const binding = {
      protocol: "agent",
      version: AGENT_PROTOCOL_VERSION,
      jobKey: options.jobKey,
      port: this.port,
    } as const;
    openChannel(
      socket,
      { key: channelKey(options.secret), binding, node: options.node.name },
      {
        established: (channel) => this.#onEstablished(channel),
        failed: (failure) => this.dispatch({ type: "refused", failure }),
      },
    );
    for (const out of this.#outputs()) out.on("error", this.#onOutputError);
    socket.on("error", (error: NodeJS.ErrnoException) => {
      this.#socketError ??= describeConnectError(error.code ?? error.message, this.#where);
    });
    socket.on("close", () =>
      this.dispatch({ type: "closed", reason: this.#socketError ?? `${this.#where} closed the connection` }),
    );
  }

  #outputs(): NodeJS.WritableStream[] {
    return [this.options.streams.stdout, this.options.streams.stderr];
  }

  #onEstablished(channel: Channel): void {
    channel.frames.readWith({
      limits: (type) => serverFrameLimit(type),
      frame: (frame) => this.#onFrame(frame),
      error: (reason) => this.dispatch({ type: "malformed", reason }),
    });
    const before = this.#state;
    const next = nextClientState(before, { type: "established" });
    if (before.phase === "handshake" && next.phase === "running") this.#enterRunning(before, { ...next, channel });
  }

  #onFrame(frame: Frame): void {
    const { streams } = this.options;
    if (frame.type === FrameType.stdout) this.#output(streams.stdout, frame.payload);
    else if (frame.type === FrameType.stderr) this.#output(streams.stderr, frame.payload);
    else if (frame.type === FrameType.stdinWindow) {
      const window = parseControl(FrameType.stdinWindow, frame.payload);
      if (window === undefined) this.dispatch({ type: "malformed", reason: "bad window" });
      else this.#stdinPump.grant(window.bytes);
    } else this.dispatch(controlInput(frame));
  }

  /** Stops reading the socket while stdout or stderr is full, so the server pauses the command. */
  #output(out: NodeJS.WritableStream, payload: Buffer): void {
    if (out.write(payload) || this.#full.has(out)) return;
    this.#full.add(out);
    this.socket.pause();
    out.once("drain", () => {
      this.#full.delete(out);
      if (this.#full.size === 0) this.socket.resume();
    });
  }

  dispatch(input: ClientInput): void {
    const before = this.#state;
    const next = nextClientState(before, input);
    if (next === before) return;
    switch (next.phase) {
      case "running":
        // Only the channel's handshake enters running (#onEstablished); here it forwards a signal.
        if (before.phase === "running") this.#forward(before, next, input);
        return;
      case "exited":
      case "failed":
        this.#finish(before, next);
        return;
      case "handshake":
        return;
      default: {
        const unreachable: never = next;
        throw new Error(`internal error: unexpected client state ${String(unreachable)}; please report`);
      }
    }
  }

  #forward(before: SessionState & { phase: "running" }, next: ClientState & { phase: "running" }, input: ClientInput) {
    this.#state = { ...next, channel: before.channel };
    if (input.type === "signal" || input.type === "pass-on") {
      writeControl(this.socket, FrameType.signal, { name: input.name });
    }
  }

  #enterRunning(before: SessionState & { phase: "handshake" }, next: SessionState & { phase: "running" }): void {
    this.options.timers.clearTimeout(before.deadline);
    this.#state = next;
    if (this.options.probe) {
      this.#finish(next, { phase: "exited", status: { code: 0 } });
      return;
    }
    writeFrame(this.socket, FrameType.exec, this.exec);
    this.#stdinPump.start();
  }

  #finish(before: SessionState, final: Extract<ClientState, { phase: "exited" | "failed" }>): void {
    this.#state = final;
    if (before.phase === "handshake") this.options.timers.clearTimeout(before.deadline);
    if (before.phase === "running") before.channel.frames.stop();
    for (const [name, listener] of this.#onSignal) this.options.signals.off(name, listener);
    this.#stdinPump.stop();
    this.socket.destroy();
    const ending = clientEnding(final, before.phase === "handshake");
    if (ending.kind === "not-agent") {
      for (const out of this.#outputs()) out.off("error", this.#onOutputError);
      this.resolve(ending);
      return;
    }
    if (ending.complaint !== undefined) {
      this.options.streams.stderr.write(`srun-docker ssh: ${this.options.node.name}: ${ending.complaint}\n`);
    }
    void Promise.all(this.#outputs().map(flush)).then(() => {
      // Only now: an EPIPE of a last write must still find a listener (it would throw).
      for (const out of this.#outputs()) out.off("error", this.#onOutputError);
      this.resolve({ kind: "ran", exitCode: ending.exitCode });
    });
  }
}

/** A control frame from the server as an input of the client's state. */
function controlInput(frame: Frame): ClientInput {
  switch (frame.type) {
    case FrameType.exit: {
      const exit = parseControl(FrameType.exit, frame.payload);
      return exit === undefined ? { type: "malformed", reason: "bad exit" } : { type: "exit", status: exit };
    }
    default:
      return { type: "malformed", reason: `frame type ${frame.type} from a server` };
  }
}

/** Resolves once everything written to `out` so far has been handed on. */
function flush(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    if (!out.writable) return resolve();
    out.write("", () => resolve());
  });
}
