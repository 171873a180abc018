/**
 * Helpers for the rendezvous tests, imported by *.test.ts only: a master and
 * workers on localhost, raw peers that speak the handshake by hand, and a clock that moves only
 * when a test says so. Each test file runs `afterEach(runCleanups)`.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { createFrameDecoder, encodeFrame, type FrameType, HandshakeFrame } from "../../core/channel/index.js";
import { encodeMessage, type MasterMessage, PROTOCOL_VERSION } from "../../core/rendezvous/index.js";
import { computeMac } from "../channel/mac.test-support.js";
import type { Timers } from "../process/index.js";
import { type RendezvousMaster, type RendezvousMasterOptions, startRendezvousMaster } from "./rendezvous-master.js";
import { connectRendezvousWorker, type RendezvousWorkerOptions } from "./rendezvous-worker.js";

export const secret = Buffer.alloc(32, 1);
export const jobKey = "4242.0";

const cleanups: Array<() => void> = [];
export function runCleanups(): void {
  for (const cleanup of cleanups.splice(0)) cleanup();
}

/** A master on 127.0.0.1 expecting n1..n3 within 5 s, closed after the test. */
export async function master(options: Partial<RendezvousMasterOptions> = {}): Promise<RendezvousMaster> {
  const m = await startRendezvousMaster({
    port: 0,
    host: "127.0.0.1",
    secret,
    jobKey,
    expectedNodes: ["n1", "n2", "n3"],
    deadlineMs: 5000,
    ...options,
  });
  cleanups.push(() => m.close());
  return m;
}

/** A worker for `node` ("n<rank>") that tries for 3 s. */
export function worker(port: number, node: string, options: Partial<RendezvousWorkerOptions> = {}) {
  return connectRendezvousWorker({
    host: "127.0.0.1",
    port,
    secret,
    jobKey,
    node,
    rank: Number(node.slice(1)),
    deadlineMs: 3000,
    retryDelayMs: 20,
    ...options,
  });
}

/** Opens a raw connection and collects what the master says until it closes. */
export function rawClient(port: number): { socket: Socket; closed: Promise<string>; received(): string } {
  const socket = connect({ port, host: "127.0.0.1" });
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString("latin1");
  });
  socket.on("error", () => {});
  return {
    socket,
    closed: new Promise((resolve) => socket.on("close", () => resolve(received))),
    received: () => received,
  };
}

/** Hands each frame of `socket` to `onFrame`, its payload as text (a peer that reads by hand). */
export function onFrames(socket: Socket, onFrame: (type: number, payload: string) => void): void {
  const decoder = createFrameDecoder(() => 1024 * 1024);
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    for (let step = decoder.next(); step?.kind === "frame"; step = decoder.next())
      onFrame(step.frame.type, step.frame.payload.toString("utf8"));
  });
}

/** Writes one frame of JSON, as a peer that speaks by hand. */
export function writeJsonFrame(socket: Socket, type: number, value: unknown): boolean {
  return socket.write(encodeFrame(type as FrameType, Buffer.from(JSON.stringify(value))));
}

/** A worker that speaks the handshake itself, so a test can then keep it silent. */
export function handshakeByHand(
  port: number,
  node: string,
  options: { allowHalfOpen?: boolean } = {},
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: options.allowHalfOpen ?? false });
    const workerNonce = "c".repeat(32);
    socket.on("error", reject);
    onFrames(socket, (type, payload) => {
      if (type === HandshakeFrame.challenge) {
        const { nonce } = JSON.parse(payload) as { nonce: string };
        const input = { jobKey, masterNonce: nonce, workerNonce, node, port };
        const mac = computeMac(secret, "worker", input);
        writeJsonFrame(socket, HandshakeFrame.hello, { node, nonce: workerNonce, mac, about: { rank: 2 } });
      }
      if (type === HandshakeFrame.welcome) resolve(socket);
    });
  });
}

/** A server on the port that answers each connection with `behave`. */
export function fakeMaster(behave: (socket: Socket) => void, port = 0): Promise<{ server: Server; port: number }> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.on("error", () => {});
      behave(socket);
    });
    cleanups.push(() => server.close());
    server.listen(port, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

export const sendTo = (socket: Socket, message: MasterMessage) => socket.write(encodeMessage(message));

/** The handshake's frames as a master that speaks by hand sends them. */
export const challengeTo = (socket: Socket, nonce: string, v = PROTOCOL_VERSION) =>
  writeJsonFrame(socket, HandshakeFrame.challenge, { v, nonce });
export const welcomeTo = (socket: Socket, mac: string, masterPort?: number) =>
  writeJsonFrame(socket, HandshakeFrame.welcome, masterPort === undefined ? { mac } : { mac, about: { masterPort } });
export const rejectTo = (socket: Socket, reason: string) => writeJsonFrame(socket, HandshakeFrame.reject, { reason });

/** Challenges the peer, then answers every hello with `answer(masterNonce, hello, the port it reached)`. */
export function onHello(
  socket: Socket,
  answer: (masterNonce: string, hello: { nonce: string; node: string }, port: number) => void,
) {
  const masterNonce = "d".repeat(32);
  challengeTo(socket, masterNonce);
  onFrames(socket, (type, payload) => {
    if (type === HandshakeFrame.hello) answer(masterNonce, JSON.parse(payload), socket.localPort ?? 0);
  });
}

/** A server on a free port, closed after the test. */
export function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    cleanups.push(() => server.close());
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** Sockets, servers and timers that would keep the process alive. */
export function countHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => /^(TCPSocketWrap|TCPServerWrap|Timeout)$/.test(r)).length;
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets pending socket events and promise callbacks run. */
export const settleIo = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

export interface ManualTimers extends Timers {
  /** Moves the clock on by `ms`, firing each timer it passes, in order, at its own time. */
  advance(ms: number): void;
}

/**
 * A clock that moves only on `advance`. A zero-delay timer fires soon without the clock moving,
 * like a real one, so a sleep(0) between attempts does not need a test to push it.
 */
export function manualTimers(): ManualTimers {
  let now = 0;
  let lastHandle = 0;
  const pending = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, ms) {
      const handle = ++lastHandle;
      pending.set(handle, { at: now + Math.max(0, ms), callback });
      if (ms <= 0) {
        queueMicrotask(() => {
          if (pending.delete(handle)) callback();
        });
      }
      return handle;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        let due: [number, { at: number; callback: () => void }] | undefined;
        for (const entry of pending)
          if (entry[1].at <= until && (due === undefined || entry[1].at < due[1].at)) due = entry;
        if (due === undefined) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
  };
}
