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
  clientExitCode,
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
  const { node, streams, timers } = options;
  const where = `its agent at ${node.address}:${port}`;
  return new Promise((resolve) => {
    socket.setNoDelay(true);
    let state: ClientState = { phase: "handshake" };
    const timer = timers.setTimeout(
      () => dispatch({ type: "timed-out", reason: `no answer from ${where} within ${formatSeconds(timeoutMs)}` }),
      timeoutMs,
    );
    const onSignal = [
      ...LOCAL_SIGNALS.map((name) => [name, () => dispatch({ type: "signal", name })] as const),
      ...PASSED_ON_SIGNALS.map((name) => [name, () => dispatch({ type: "pass-on", name })] as const),
    ];
    for (const [name, listener] of onSignal) options.signals.on(name, listener);

    // Our reader went away (`ssh node cmd | head`): end like ssh killed by SIGPIPE.
    const onOutputError = (): void => dispatch({ type: "local-end", exitCode: 141 });
    const stdinPump = createInputPump(socket, streams.stdin, { noStdin: options.noStdin, pty: options.request.pty });
    const full = new Set<NodeJS.WritableStream>();
    /** Stops reading the socket while stdout or stderr is full, so the server pauses the command. */
    const output = (out: NodeJS.WritableStream, payload: Buffer): void => {
      if (out.write(payload) || full.has(out)) return;
      full.add(out);
      socket.pause();
      out.once("drain", () => {
        full.delete(out);
        if (full.size === 0) socket.resume();
      });
    };

    function dispatch(input: ClientInput): void {
      const before = state;
      state = nextClientState(before, input);
      if (state === before) return;
      switch (state.phase) {
        case "running":
          if (before.phase === "running") {
            if (input.type === "signal" || input.type === "pass-on") {
              writeControl(socket, FrameType.signal, { name: input.name });
            }
            return;
          }
          timers.clearTimeout(timer);
          if (options.probe) {
            finish({ phase: "exited", status: { code: 0 } }, false);
            return;
          }
          writeFrame(socket, FrameType.exec, exec);
          stdinPump.start();
          return;
        case "exited":
        case "failed":
          finish(state, before.phase === "handshake");
          return;
        case "handshake":
          return;
        default: {
          const unreachable: never = state;
          throw new Error(`internal error: unexpected client state ${String(unreachable)}; please report`);
        }
      }
    }

    function finish(final: ClientState, inHandshake: boolean): void {
      timers.clearTimeout(timer);
      channel?.frames.stop();
      for (const [name, listener] of onSignal) options.signals.off(name, listener);
      stdinPump.stop();
      socket.destroy();
      // A handshake that failed (not ended by a signal): nothing was sent, another port may do.
      if (inHandshake && final.phase === "failed" && final.reason !== undefined) {
        for (const out of [streams.stdout, streams.stderr]) out.off("error", onOutputError);
        resolve({ kind: "not-agent", reason: final.reason });
        return;
      }
      if (final.phase === "failed" && final.reason !== undefined) {
        streams.stderr.write(`srun-docker ssh: ${node.name}: ${final.reason}\n`);
      }
      const code = clientExitCode(final) ?? EXIT_SSH_FAILURE;
      void Promise.all([flush(streams.stdout), flush(streams.stderr)]).then(() => {
        // Only now: an EPIPE of a last write must still find a listener (it would throw).
        for (const out of [streams.stdout, streams.stderr]) out.off("error", onOutputError);
        resolve({ kind: "ran", exitCode: code });
      });
    }

    const receive = (frame: Frame): void => {
      if (frame.type === FrameType.stdout || frame.type === FrameType.stderr) {
        output(frame.type === FrameType.stdout ? streams.stdout : streams.stderr, frame.payload);
      } else if (frame.type === FrameType.stdinWindow) {
        const window = parseControl(FrameType.stdinWindow, frame.payload);
        if (window === undefined) dispatch({ type: "malformed", reason: "bad window" });
        else stdinPump.grant(window.bytes);
      } else {
        dispatch(controlInput(frame));
      }
    };
    let channel: Channel | undefined;
    const binding = { protocol: "agent", version: AGENT_PROTOCOL_VERSION, jobKey: options.jobKey, port } as const;
    openChannel(
      socket,
      { key: channelKey(options.secret), binding, node: node.name },
      {
        established(established) {
          channel = established;
          established.frames.readWith({
            limits: (type) => serverFrameLimit(type),
            frame: receive,
            error: (reason) => dispatch({ type: "malformed", reason }),
          });
          dispatch({ type: "established" });
        },
        failed: (failure) => dispatch({ type: "refused", failure }),
      },
    );
    for (const out of [streams.stdout, streams.stderr]) out.on("error", onOutputError);
    let socketError: string | undefined;
    socket.on("error", (error: NodeJS.ErrnoException) => {
      socketError ??= describeConnectError(error.code ?? error.message, where);
    });
    socket.on("close", () => dispatch({ type: "closed", reason: socketError ?? `${where} closed the connection` }));
  });
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
