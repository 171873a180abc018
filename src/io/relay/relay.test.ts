// The image relay of --pull-once over real sockets on 127.0.0.1: a server, its children, and
// strangers on both sides. The engine is a stand-in: `save` gives bytes, `load` counts them.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import { type PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import { HandshakeFrame } from "../../core/channel/index.js";
import {
  encodeRelayControl,
  encodeRelayHeader,
  RELAY_PROTOCOL_VERSION,
  RelayFrame,
  type RelayFrameType,
} from "../../core/relay/index.js";
import { fetchFromRelay, type RelayFetchOptions } from "./relay-client.js";
import { type RelayServer, type RelayServerEvent, startRelayServer } from "./relay-server.js";

const SECRET = randomBytes(32);
const ID = `sha256:${"e".repeat(64)}`;
const OTHER = `sha256:${"f".repeat(64)}`;
const ARCHIVE = randomBytes(3 * 1024 * 1024 + 17);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
};

/** A save that yields the archive in pieces, or fails after `failAfter` bytes. */
function saveOf(data: Buffer, failAfter?: number): () => Readable {
  return () => {
    const pieces: Buffer[] = [];
    for (let at = 0; at < data.length; at += 256 * 1024) pieces.push(data.subarray(at, at + 256 * 1024));
    let sent = 0;
    return new Readable({
      read() {
        const piece = pieces.shift();
        if (failAfter !== undefined && sent >= failAfter) this.destroy(new Error("dockerd: EIO"));
        else if (piece === undefined) this.push(null);
        else {
          sent += piece.length;
          setTimeout(() => this.push(piece), 1);
        }
      },
    });
  };
}

async function server(options: { save?: () => Readable; waitPingMs?: number; secret?: Buffer } = {}) {
  const events: RelayServerEvent[] = [];
  const summaries: string[] = [];
  const relay: RelayServer = await startRelayServer({
    candidates: [0],
    host: "127.0.0.1",
    secret: options.secret ?? SECRET,
    jobKey: "7.0",
    transfer: { save: options.save ?? saveOf(ARCHIVE) },
    waitPingMs: options.waitPingMs ?? 50,
    handshakeTimeoutMs: 1000,
    onEvent: (event) => events.push(event),
    onRefusals: (line) => summaries.push(line),
  });
  cleanups.push(() => relay.close());
  return { relay, events, summaries };
}

/** A load that reads the archive (slowly when asked) and says the ID it was told to. */
function loader(id = ID, delayMs = 0) {
  const got = { bytes: 0, calls: 0, failed: undefined as string | undefined };
  const load = async (archive: PassThrough): Promise<string> => {
    got.calls++;
    try {
      for await (const chunk of archive) {
        got.bytes += (chunk as Buffer).length;
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    } catch (error) {
      got.failed = (error as Error).message;
      throw error;
    }
    return id;
  };
  return { got, load };
}

const fetch = (port: number, more: Partial<RelayFetchOptions> = {}) =>
  fetchFromRelay({
    host: "127.0.0.1",
    port,
    secret: SECRET,
    jobKey: "7.0",
    node: "node2",
    want: ID,
    load: loader().load,
    deadlineMs: 10_000,
    silenceMs: 2000,
    ...more,
  });

describe("a child gets the image from its parent", () => {
  test("waits while the parent fetches, then loads the archive whole, with back-pressure", async () => {
    const { relay, events } = await server();
    const { got, load } = loader(ID, 2);
    const progress: number[] = [];
    let size: number | undefined;
    const fetching = fetch(relay.port, {
      load,
      onStart: (s) => {
        size = s;
      },
      onProgress: (bytes) => progress.push(bytes),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    relay.offer({ id: ID, size: ARCHIVE.length });
    expect(await fetching).toEqual({ ok: true, id: ID, bytes: ARCHIVE.length });
    expect(got.bytes).toBe(ARCHIVE.length);
    expect(size).toBe(ARCHIVE.length);
    expect(progress.at(-1)).toBe(ARCHIVE.length);
    expect(events).toContainEqual(expect.objectContaining({ type: "served", node: "node2", bytes: ARCHIVE.length }));
  });

  test("two children at once, and one that comes after the offer", async () => {
    const { relay } = await server();
    const early = [fetch(relay.port, { node: "node2" }), fetch(relay.port, { node: "node3" })];
    relay.offer({ id: ID });
    const results = [...(await Promise.all(early)), await fetch(relay.port, { node: "node4" })];
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
  });

  test("the parent's own fetch failed: the child is told at once", async () => {
    const { relay } = await server();
    const fetching = fetch(relay.port);
    relay.withdraw("cannot pull: manifest unknown");
    expect(await fetching).toEqual({ ok: false, reason: "it has no image to give: cannot pull: manifest unknown" });
  });

  test("the parent's save breaks mid-stream: the child fails and its load is cancelled", async () => {
    const { relay, events } = await server({ save: saveOf(ARCHIVE, 1024 * 1024) });
    relay.offer({ id: ID });
    const { got, load } = loader();
    const result = await fetch(relay.port, { load });
    expect(result.ok).toBe(false);
    await until(() => got.failed !== undefined);
    expect(events).toContainEqual(expect.objectContaining({ type: "dropped" }));
  });

  test("another image than the job's is refused before a byte is loaded", async () => {
    const { relay } = await server();
    relay.offer({ id: OTHER });
    const { got, load } = loader();
    const result = await fetch(relay.port, { load });
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/offered image ffffffffffff/) });
    expect(got.calls).toBe(0);
  });

  test("a parent that falls silent is given up after the silence, not the pull timeout", async () => {
    const { relay } = await server({ waitPingMs: 60_000 });
    const started = Date.now();
    const result = await fetch(relay.port, { silenceMs: 300 });
    expect(result).toEqual({ ok: false, reason: "no word from it for 0.3 s" });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("the pull timeout bounds the wait", async () => {
    const { relay } = await server();
    expect(await fetch(relay.port, { deadlineMs: 300 })).toEqual({
      ok: false,
      reason: "not done within 0.3 s (--pull-timeout)",
    });
  });

  test("nobody listening: refused at once", async () => {
    const { relay } = await server();
    const port = relay.port;
    relay.close();
    const result = await fetch(port);
    expect(result.ok).toBe(false);
  });
});

describe("strangers", () => {
  test("a child without the job's secret is dropped and served nothing", async () => {
    const { relay, events } = await server();
    relay.offer({ id: ID });
    const { got, load } = loader();
    const result = await fetch(relay.port, { secret: randomBytes(32), load });
    expect(result.ok).toBe(false);
    expect(got.calls).toBe(0);
    expect(events).toContainEqual({
      type: "dropped",
      remote: expect.any(String),
      reason: "authentication failed (claimed node node2)",
      stranger: true,
    });
    expect(events.some((e) => e.type === "served")).toBe(false);
  });

  test("a hello made for another port (a squatter relaying it) is refused", async () => {
    const { relay, events } = await server();
    relay.offer({ id: ID });
    const result = await fetch(relay.port + 1, { connect: () => netConnect(relay.port) });
    expect(result.ok).toBe(false);
    expect(events).toContainEqual(expect.objectContaining({ reason: "authentication failed (claimed node node2)" }));
  });

  test("a squatter that cannot prove the secret feeds this node nothing, however fast it sends", async () => {
    const squatter = await listen((socket) => {
      const control = (type: number, payload: Buffer) =>
        socket.write(Buffer.concat([encodeRelayHeader(type as RelayFrameType, payload.length), payload]));
      const json = (value: unknown) => Buffer.from(JSON.stringify(value));
      control(HandshakeFrame.challenge, json({ v: RELAY_PROTOCOL_VERSION, nonce: "0".repeat(32) }));
      control(HandshakeFrame.welcome, json({ mac: "1".repeat(64) }));
      control(RelayFrame.start, encodeRelayControl(RelayFrame.start, { id: ID }));
      control(RelayFrame.data, Buffer.alloc(100));
    });
    const { got, load } = loader();
    const result = await fetch(squatter, { load });
    expect(result).toEqual({ ok: false, reason: "its relay failed authentication (not a node of this job)" });
    expect(got.calls).toBe(0);
  });

  test("a stranger that never says hello is dropped after the handshake timeout, and counted", async () => {
    const { relay, events, summaries } = await server();
    const socket = netConnect(relay.port).resume();
    cleanups.push(() => socket.destroy());
    await new Promise((resolve) => socket.once("close", resolve));
    expect(events).toContainEqual(expect.objectContaining({ reason: "no valid hello in time", stranger: true }));
    relay.close();
    expect(summaries).toEqual([
      "refused 1 connection that did not authenticate in 0.0 s (1 timed out); most from 127.0.0.1 (1)",
    ]);
  });
});

import { connect, type Socket } from "node:net";

function netConnect(port: number): Socket {
  const socket = connect({ port, host: "127.0.0.1" });
  socket.on("error", () => {});
  return socket;
}

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const s: Server = createServer((socket) => {
    socket.on("error", () => {});
    onConnection(socket);
  });
  cleanups.push(() => s.close());
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const address = s.address();
  return typeof address === "object" && address !== null ? address.port : 0;
}
