/**
 * Helpers for the agent tests, imported by *.test.ts only: an agent server on 127.0.0.1 with
 * real child processes (every spawn counted), the client run in-process on buffers, a raw peer
 * that speaks frames by hand, and a look at /proc for processes left behind. Each test file
 * runs `afterEach(runCleanups)`.
 */
import { spawn as baseSpawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { createFrameDecoder, encodeFrame, type Frame, type FrameType } from "../../core/channel/index.js";
import type { Spawn } from "../process/index.js";
import { type AgentClientOptions, runAgentClient } from "./agent-client.js";
import type { ClientStreams } from "./agent-client-session.js";
import { type AgentServer, type AgentServerOptions, runAgentServer } from "./agent-server.js";

export const secret = Buffer.alloc(32, 3);
export const jobKey = "4242.0";
export const user = "alice";

const cleanups: Array<() => Promise<void> | void> = [];
export async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export interface TestServer {
  server: AgentServer;
  /** Spawns made after the server started (its `script --version` probe is not counted). */
  spawns(): number;
  logs: string[];
  home: string;
  options: AgentClientOptions;
}

export async function startServer(overrides: Partial<AgentServerOptions> = {}): Promise<TestServer> {
  const home = await mkdtemp(join(tmpdir(), "agent-home-"));
  let count = 0;
  let counting = false;
  const spawn = ((...args: Parameters<Spawn>) => {
    if (counting) count++;
    return baseSpawn(...args);
  }) as Spawn;
  const logs: string[] = [];
  const server = await runAgentServer({
    node: "node1",
    jobKey,
    secret,
    ports: [0],
    host: "127.0.0.1",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, LANG: "C" },
    handshakeTimeoutMs: 2000,
    killGraceMs: 300,
    spawn,
    log: (line) => logs.push(line),
    ...overrides,
  });
  counting = true;
  cleanups.push(async () => {
    await server.close();
    await rm(home, { recursive: true, force: true });
  });
  const options: AgentClientOptions = {
    nodes: [{ name: "node1", address: "127.0.0.1" }],
    ports: [server.port],
    secret,
    user,
    jobKey,
    env: { PATH: "/nonexistent", LANG: "C.UTF-8" },
    signals: new EventEmitter(),
    timeoutMs: 3000,
    runElsewhere: async () => 254,
  };
  return { server, spawns: () => count, logs, home, options };
}

export interface ClientRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs `ssh ARGV` through the agent with `input` on stdin (none: an ended stdin). */
export async function runClient(
  options: AgentClientOptions,
  argv: string[],
  input: Buffer | string = "",
  extra: Partial<AgentClientOptions> = {},
): Promise<ClientRun> {
  const stdout = collector();
  const stderr = collector();
  const streams: ClientStreams = { stdin: Readable.from([Buffer.from(input)]), stdout, stderr };
  const code = await runAgentClient(argv, { ...options, streams, ...extra });
  return { code, stdout: stdout.data(), stderr: stderr.data().toString() };
}

export function collector(): Writable & { data(): Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return Object.assign(out, { data: () => Buffer.concat(chunks) });
}

/** A raw TCP peer: sends frames by hand and reads the server's. */
export async function rawPeer(port: number): Promise<{
  socket: Socket;
  send(type: FrameType, payload?: Buffer): void;
  /** A control frame, the handshake's included (core/channel/handshake.ts). */
  sendControl(type: FrameType, message: unknown): void;
  next(): Promise<Frame | "closed">;
}> {
  const socket = connect({ port, host: "127.0.0.1" });
  await new Promise((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  cleanups.push(() => {
    socket.destroy();
  });
  const decoder = createFrameDecoder(() => 16 * 1024 * 1024);
  const frames: Frame[] = [];
  let closed = false;
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    for (let step = decoder.next(); step?.kind === "frame"; step = decoder.next()) frames.push(step.frame);
    wake();
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    closed = true;
    wake();
  });
  return {
    socket,
    send: (type, payload = Buffer.alloc(0)) => socket.write(encodeFrame(type, payload)),
    sendControl: (type, message) => socket.write(encodeFrame(type, Buffer.from(JSON.stringify(message)))),
    async next() {
      while (frames.length === 0 && !closed) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames.shift() ?? "closed";
    },
  };
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

/** Writes pids of the remote command's processes to a file in `dir`; reads them back. */
export function readPids(file: string): number[] {
  try {
    return readFileSync(file, "utf8")
      .split(/\s+/)
      .filter((word) => /^\d+$/.test(word))
      .map(Number);
  } catch {
    return [];
  }
}
