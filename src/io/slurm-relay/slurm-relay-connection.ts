/**
 * One command through the Slurm relay, host side: does what each state of
 * core/slurm-relay/relay-connection-state.ts asks for. Nothing runs before an authentic hello
 * and a command of core/slurm-relay/'s shape: a program that is one of the six names, found on
 * the host's own PATH, given the request's arguments as an array (spawn, no shell). Output
 * flows back with back-pressure (a full socket pauses the command's pipes), input in the
 * agent's window, signals by name.
 */
import { spawn as baseSpawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import type { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import path from "node:path";
import { type ExitStatus, parseControl, STDIN_WINDOW_BYTES } from "../../core/agent/index.js";
import { type ChannelKey, type Frame, FrameType, type RefusalKind } from "../../core/channel/index.js";
import {
  type HostCommand,
  nextRelayConnectionState,
  parseSlurmRequest,
  planHostCommand,
  type RelayConnectionInput,
  type RelayConnectionState,
  relayClientFrameLimit,
  relayReceivePhaseOf,
  SLURM_COMMAND_FRAME,
  SLURM_RELAY_PROTOCOL_VERSION,
  type SlurmRequest,
} from "../../core/slurm-relay/index.js";
import { acceptChannel, type Channel, writeControl, writeData } from "../channel/index.js";
import { endChild, type Timers } from "../process/index.js";

export interface ConnectionContext {
  key: ChannelKey;
  jobKey: string;
  node: string;
  hostEnv: Readonly<Record<string, string | undefined>>;
  hostCwd: string;
  timers: Timers;
  /** How long a connection may take to authenticate and send its command. */
  handshakeTimeoutMs: number;
  /** A connection that never proved it holds the key. */
  refused(kind: RefusalKind): void;
  /** The connection is open: `shutdown` ends it when the relay closes; the returned function forgets it. */
  open(shutdown: () => void): () => void;
  spawn?: typeof baseSpawn;
}

/** The exit code of a command that is not on this node's PATH, as a shell says it. */
const EXIT_NOT_FOUND = 127;
/** How long a command ended by the relay's close may take after its SIGTERM. */
const END_GRACE_MS = 2000;

/** The running command, beside the state: a process handle is io's, not core's. */
interface Running {
  child: ChildProcess;
  /** Bytes of stdin sent to the command and not yet taken by it. */
  inFlight: number;
}

export function serveSlurmConnection(socket: Socket, ctx: ConnectionContext): void {
  const connection = new RelayConnection(socket, ctx);
  const binding = { protocol: "slurm", version: SLURM_RELAY_PROTOCOL_VERSION, jobKey: ctx.jobKey, port: 0 } as const;
  const handshake = acceptChannel(
    socket,
    { key: ctx.key, binding, admit: (peer) => admitNode(peer.node, ctx.node) },
    {
      established: (channel) => connection.established(channel),
      refused(refusal) {
        const stranger = refusal.stranger === "gone" ? undefined : refusal.stranger;
        connection.dispatch({
          type: "refused",
          reason: refusal.reason,
          ...(stranger === undefined ? {} : { stranger }),
        });
      },
    },
  );
  socket.on("error", () => undefined);
  socket.on("close", () => {
    // During the handshake the channel says what the close means (a refusal, counted or not).
    if (connection.inHandshake()) handshake.input({ type: "closed", reason: "closed" });
    else connection.dispatch({ type: "closed", reason: "closed" });
  });
}

/** The state, and what io holds beside it: the channel once established, the running command. */
class RelayConnection {
  #state: RelayConnectionState = { phase: "handshake" };
  #channel: Channel | undefined;
  #running: Running | undefined;
  readonly #timer: unknown;
  readonly #forget: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: ConnectionContext,
  ) {
    this.#timer = ctx.timers.setTimeout(() => this.dispatch({ type: "timed-out" }), ctx.handshakeTimeoutMs);
    this.#forget = ctx.open(() => this.dispatch({ type: "shutdown" }));
  }

  inHandshake(): boolean {
    return this.#state.phase === "handshake";
  }

  established(channel: Channel): void {
    this.#channel = channel;
    this.dispatch({ type: "established" });
  }

  dispatch(input: RelayConnectionInput): void {
    const before = this.#state;
    this.#state = nextRelayConnectionState(before, input);
    if (this.#state !== before) this.#enter(this.#state);
  }

  /** What a new state asks for. */
  #enter(state: RelayConnectionState): void {
    const { socket, ctx } = this;
    switch (state.phase) {
      case "awaiting-command":
        this.#channel?.frames.readWith({
          limits: (type) => relayClientFrameLimit(relayReceivePhaseOf(this.#state) ?? "command", type),
          frame: (frame) => this.#receive(frame),
          error: (reason) => this.dispatch({ type: "malformed", reason }),
        });
        return;
      case "running":
        ctx.timers.clearTimeout(this.#timer);
        this.#running = startCommand(socket, state.request, ctx, (status) =>
          this.dispatch({ type: "command-ended", status }),
        );
        return;
      case "exited":
        this.#finish();
        writeControl(socket, FrameType.exit, state.status);
        socket.end();
        return;
      case "ended":
        this.#finish();
        if (state.stranger !== undefined) ctx.refused(state.stranger);
        if (state.ran && this.#running !== undefined) stopChild(this.#running.child);
        socket.destroy();
        return;
      case "handshake":
        return;
      default: {
        const unreachable: never = state;
        throw new Error(`internal error: unexpected relay state ${String(unreachable)}; please report`);
      }
    }
  }

  #finish(): void {
    this.ctx.timers.clearTimeout(this.#timer);
    this.#channel?.frames.stop();
    this.#forget();
  }

  #receive(frame: Frame): void {
    if (this.#state.phase === "awaiting-command") this.dispatch(commandInput(frame));
    else if (this.#state.phase === "running" && this.#running !== undefined) {
      const problem = takeInput(this.socket, this.#running, frame);
      if (problem !== undefined) this.dispatch({ type: "malformed", reason: problem });
    }
  }
}

/** The command frame as an input: a command of the allowed shape, or a malformed one. */
function commandInput(frame: Frame): RelayConnectionInput {
  const request = frame.type === SLURM_COMMAND_FRAME ? parseSlurmRequest(frame.payload) : undefined;
  return request === undefined
    ? { type: "malformed", reason: "not a command of the relay's" }
    : { type: "command", request };
}

/** The container's hello names its own node: a command for another node has no business here. */
function admitNode(claimed: string, node: string) {
  if (claimed === node) return { welcome: undefined };
  return { refuse: `a client of node ${claimed}`, tell: `this is ${node}'s Slurm relay, not ${claimed}'s` };
}

/** Starts the host's command; `ended` hears once how it ended (127 when it could not start). */
function startCommand(
  socket: Socket,
  request: SlurmRequest,
  ctx: ConnectionContext,
  ended: (status: ExitStatus) => void,
): Running | undefined {
  const command = planHostCommand(request, ctx.hostEnv);
  const cannotStart = (why: string): undefined => {
    writeData(socket, FrameType.stderr, Buffer.from(`srun-docker: ${command.program}: ${why}\n`, "utf8"));
    ended({ code: EXIT_NOT_FOUND });
    return undefined;
  };
  const file = findOnPath(command.program, ctx.hostEnv.PATH);
  if (file === undefined) return cannotStart(`not found on ${ctx.node}'s PATH`);
  const child = spawnCommand(file, command, existingDir(request.cwd) ?? ctx.hostCwd, ctx.spawn ?? baseSpawn);
  pipeOutput(socket, child);
  child.stdin?.on("error", () => undefined);
  // Exactly one end: a child that failed to start may say "close" after its "error".
  let said = false;
  const once = (say: () => void): void => {
    if (said) return;
    said = true;
    say();
  };
  child.on("error", (error) => once(() => cannotStart(error.message)));
  child.on("close", (code, signal) =>
    once(() => {
      const number = signal === null ? undefined : osConstants.signals[signal];
      ended(number === undefined ? { code: code ?? 1 } : { signal: number });
    }),
  );
  return { child, inFlight: 0 };
}

/** argv as an array, no shell; argv[0] the program's own name, as if typed on the host. */
function spawnCommand(file: string, command: HostCommand, cwd: string, spawn: typeof baseSpawn): ChildProcess {
  return spawn(file, [...command.args], {
    argv0: command.program,
    cwd,
    env: { ...command.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) endChild(child, END_GRACE_MS).terminate();
}

/** Input and signals for the running command; why the client must go, if it must (past its window, a bad signal). */
function takeInput(socket: Socket, running: Running, frame: Frame): string | undefined {
  const stdin = running.child.stdin;
  if (frame.type === FrameType.stdin) {
    running.inFlight += frame.payload.length;
    if (running.inFlight > STDIN_WINDOW_BYTES) return "more input than its window";
    const bytes = frame.payload.length;
    stdin?.write(frame.payload, () => {
      running.inFlight -= bytes;
      if (bytes > 0) writeControl(socket, FrameType.stdinWindow, { bytes });
    });
  } else if (frame.type === FrameType.stdinEof) {
    stdin?.end();
  } else if (frame.type === FrameType.signal) {
    const signal = parseControl(FrameType.signal, frame.payload);
    if (signal === undefined) return "bad signal";
    running.child.kill(signal.name);
  }
  return undefined;
}

/** stdout and stderr as frames; while the socket is full, both pipes wait. */
function pipeOutput(socket: Socket, child: ChildProcess): void {
  const pipes = [
    [child.stdout, FrameType.stdout],
    [child.stderr, FrameType.stderr],
  ] as const;
  for (const [pipe, type] of pipes) {
    pipe?.on("data", (chunk: Buffer) => {
      if (writeData(socket, type, chunk)) return;
      for (const [other] of pipes) other?.pause();
      socket.once("drain", () => {
        for (const [other] of pipes) other?.resume();
      });
    });
  }
}

/**
 * The program on the host's PATH (absolute directories only): the six names are resolved here,
 * by the host, never taken from the container.
 */
export function findOnPath(program: string, pathVariable: string | undefined): string | undefined {
  for (const dir of (pathVariable ?? "").split(":")) {
    if (!path.isAbsolute(dir)) continue;
    const file = path.join(dir, program);
    try {
      accessSync(file, fsConstants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function existingDir(dir: string): string | undefined {
  try {
    return statSync(dir).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}
