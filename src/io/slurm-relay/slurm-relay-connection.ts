/**
 * One command through the Slurm relay, host side. The connection moves through
 *
 *   handshake ──authentic hello──▶ command ──valid command──▶ running ──child ended──▶ ended
 *        └─────────forged, malformed, timed out, closed: nothing spawned──────────────▶ ended
 *
 * Nothing runs before an authentic hello and a command of core/slurm-relay/'s shape: a program
 * that is one of the six names, found on the host's own PATH, given the request's arguments as
 * an array (spawn, no shell). Output flows back with back-pressure (a full socket pauses the
 * command's pipes), input in the agent's window, signals by name.
 */
import { spawn as baseSpawn, type ChildProcess } from "node:child_process";
import { accessSync, constants as fsConstants, statSync } from "node:fs";
import type { Socket } from "node:net";
import { constants as osConstants } from "node:os";
import path from "node:path";
import { parseControl, STDIN_WINDOW_BYTES } from "../../core/agent/index.js";
import { type ChannelKey, type Frame, FrameType, type RefusalKind } from "../../core/channel/index.js";
import {
  type HostCommand,
  parseSlurmRequest,
  planHostCommand,
  type RelayReceivePhase,
  relayClientFrameLimit,
  SLURM_RELAY_PROTOCOL_VERSION,
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
  handshakeTimeoutMs: number;
  /** A connection that never proved it holds the key. */
  refused(kind: RefusalKind): void;
  /** A command started: `end` stops it when the relay closes; the returned function forgets it. */
  running(end: () => void): () => void;
  spawn?: typeof baseSpawn;
}

type ConnectionState =
  | { readonly phase: "handshake" }
  | { readonly phase: "command"; readonly channel: Channel }
  | { readonly phase: "running"; readonly channel: Channel; readonly child: ChildProcess; inFlight: number }
  | { readonly phase: "ended" };

/** The exit code of a command that is not on this node's PATH, as a shell says it. */
const EXIT_NOT_FOUND = 127;
/** How long a command ended by the relay's close may take after its SIGTERM. */
const END_GRACE_MS = 2000;

export function serveSlurmConnection(socket: Socket, ctx: ConnectionContext): void {
  let state: ConnectionState = { phase: "handshake" };
  const timer = ctx.timers.setTimeout(() => handshake.input({ type: "timed-out" }), ctx.handshakeTimeoutMs);
  const end = (): void => {
    ctx.timers.clearTimeout(timer);
    if (state.phase === "command" || state.phase === "running") state.channel.frames.stop();
    if (state.phase === "running") stopChild(state.child);
    state = { phase: "ended" };
    socket.destroy();
  };
  const receive = (frame: Frame): void => {
    if (state.phase === "command") state = startCommand(socket, state.channel, frame, ctx, end) ?? { phase: "ended" };
    else if (state.phase === "running") takeInput(socket, state, frame, end);
  };
  const binding = { protocol: "slurm", version: SLURM_RELAY_PROTOCOL_VERSION, jobKey: ctx.jobKey, port: 0 } as const;
  const handshake = acceptChannel(
    socket,
    { key: ctx.key, binding, admit: (peer) => admitNode(peer.node, ctx.node) },
    {
      established(channel) {
        ctx.timers.clearTimeout(timer);
        state = { phase: "command", channel };
        channel.frames.readWith({
          limits: (type) => relayClientFrameLimit(receivePhase(state), type),
          frame: receive,
          error: end,
        });
      },
      refused(refusal) {
        if (refusal.stranger !== undefined && refusal.stranger !== "gone") ctx.refused(refusal.stranger);
        end();
      },
    },
  );
  socket.on("error", () => undefined);
  socket.on("close", () => {
    if (state.phase === "handshake") handshake.input({ type: "closed", reason: "closed" });
    else if (state.phase !== "ended") end();
  });
}

function receivePhase(state: ConnectionState): RelayReceivePhase {
  return state.phase === "running" ? "running" : "command";
}

/** The container's hello names its own node: a command for another node has no business here. */
function admitNode(claimed: string, node: string) {
  if (claimed === node) return { welcome: undefined };
  return { refuse: `a client of node ${claimed}`, tell: `this is ${node}'s Slurm relay, not ${claimed}'s` };
}

/** The command frame: the command running, or undefined when the connection is over. */
function startCommand(
  socket: Socket,
  channel: Channel,
  frame: Frame,
  ctx: ConnectionContext,
  end: () => void,
): ConnectionState | undefined {
  const request = parseSlurmRequest(frame.payload);
  if (request === undefined) {
    end();
    return undefined;
  }
  const command = planHostCommand(request, ctx.hostEnv);
  const file = findOnPath(command.program, ctx.hostEnv.PATH);
  if (file === undefined) {
    refuseAtOnce(socket, `srun-docker: ${command.program}: not found on ${ctx.node}'s PATH\n`, EXIT_NOT_FOUND);
    return { phase: "ended" };
  }
  const child = spawnCommand(file, command, existingDir(request.cwd) ?? ctx.hostCwd, ctx.spawn ?? baseSpawn);
  const running: ConnectionState = { phase: "running", channel, child, inFlight: 0 };
  const forget = ctx.running(() => stopChild(child));
  pipeOutput(socket, child);
  child.stdin?.on("error", () => undefined);
  // Exactly one exit goes out: a child that failed to start may also say "close".
  let said = false;
  const exit = (say: () => void): void => {
    if (said) return;
    said = true;
    forget();
    channel.frames.stop();
    say();
  };
  child.on("error", (error) =>
    exit(() => refuseAtOnce(socket, `srun-docker: ${command.program}: ${error.message}\n`, EXIT_NOT_FOUND)),
  );
  child.on("close", (code, signal) =>
    exit(() => {
      const number = signal === null ? undefined : osConstants.signals[signal];
      writeControl(socket, FrameType.exit, number === undefined ? { code: code ?? 1 } : { signal: number });
      socket.end();
    }),
  );
  return running;
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

/** Input and signals for the running command. A client past its window is dropped. */
function takeInput(socket: Socket, state: ConnectionState & { phase: "running" }, frame: Frame, end: () => void): void {
  const stdin = state.child.stdin;
  if (frame.type === FrameType.stdin) {
    state.inFlight += frame.payload.length;
    if (state.inFlight > STDIN_WINDOW_BYTES) {
      end();
      return;
    }
    const bytes = frame.payload.length;
    stdin?.write(frame.payload, () => {
      state.inFlight -= bytes;
      if (bytes > 0) writeControl(socket, FrameType.stdinWindow, { bytes });
    });
  } else if (frame.type === FrameType.stdinEof) {
    stdin?.end();
  } else if (frame.type === FrameType.signal) {
    const signal = parseControl(FrameType.signal, frame.payload);
    if (signal === undefined) end();
    else state.child.kill(signal.name);
  }
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

/** One line on stderr and an exit, for a command that could not start. */
function refuseAtOnce(socket: Socket, line: string, code: number): void {
  writeData(socket, FrameType.stderr, Buffer.from(line, "utf8"));
  writeControl(socket, FrameType.exit, { code });
  socket.end();
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
