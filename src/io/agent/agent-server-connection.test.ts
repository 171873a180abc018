// The server against a raw peer that writes frames by hand: what a stranger on the port can
// and cannot do, and how malformed input ends a connection.
import { afterEach, expect, test } from "vitest";
import { STDIN_WINDOW_BYTES } from "../../core/agent/index.js";
import { encodeFrameHeader, FrameType, HandshakeFrame, parseHandshake } from "../../core/channel/index.js";
import { createNonce } from "../channel/index.js";
import { computeMac } from "../channel/mac.test-support.js";
import { manualTimers } from "../rendezvous/rendezvous-harness.test-support.js";
import { jobKey, rawPeer, runCleanups, secret, startServer, waitFor } from "./agent-harness.test-support.js";

afterEach(runCleanups);

async function challenged(port: number) {
  const peer = await rawPeer(port);
  const frame = await peer.next();
  if (frame === "closed" || frame.type !== FrameType.challenge) throw new Error("no challenge");
  const challenge = parseHandshake(HandshakeFrame.challenge, frame.payload.toString("utf8"));
  if (challenge === undefined) throw new Error("bad challenge");
  return { peer, serverNonce: challenge.nonce };
}

/** A peer that holds the secret: hello, welcome, exec. */
async function authenticated(port: number, command: string) {
  const { peer, serverNonce } = await challenged(port);
  const nonce = createNonce();
  const mac = computeMac(secret, "agent-client", {
    jobKey,
    masterNonce: serverNonce,
    workerNonce: nonce,
    node: "node1",
    port,
  });
  peer.sendControl(FrameType.hello, { node: "node1", nonce, mac });
  expect((await peer.next()) as { type: number }).toMatchObject({ type: FrameType.welcome });
  peer.sendControl(FrameType.exec, { command, pty: false });
  return peer;
}

test("the challenge carries the protocol version and a fresh nonce", async () => {
  const { server } = await startServer();
  const a = await challenged(server.port);
  const b = await challenged(server.port);
  expect(a.serverNonce).toMatch(/^[0-9a-f]{32}$/);
  expect(a.serverNonce).not.toBe(b.serverNonce);
});

test("a peer that says nothing is dropped at the handshake timeout", async () => {
  const { server, logs } = await startServer({ handshakeTimeoutMs: 200 });
  const { peer } = await challenged(server.port);
  const started = Date.now();
  expect(await peer.next()).toBe("closed");
  expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  // A stranger's connection is counted, not logged alone: the summary comes later, or at close.
  expect(logs).toEqual([]);
  await server.close();
  expect(logs).toEqual([
    expect.stringMatching(
      /^refused 1 connection that did not authenticate in .* \(1 timed out\); most from 127\.0\.0\.1 \(1\)$/,
    ),
  ]);
});

test("an authenticated peer that sends no command is dropped at the same timeout", async () => {
  const { server, logs, spawns } = await startServer({ handshakeTimeoutMs: 200 });
  const { peer, serverNonce } = await challenged(server.port);
  const nonce = createNonce();
  const mac = computeMac(secret, "agent-client", {
    jobKey,
    masterNonce: serverNonce,
    workerNonce: nonce,
    node: "node1",
    port: server.port,
  });
  peer.sendControl(FrameType.hello, { node: "node1", nonce, mac });
  expect(await peer.next()).toMatchObject({ type: FrameType.welcome });
  expect(await peer.next()).toBe("closed");
  expect(logs).toEqual([expect.stringMatching(/: no command in time after authentication$/)]);
  expect(spawns()).toBe(0);
});

test.each([
  ["exec before hello", FrameType.exec, Buffer.from(JSON.stringify({ command: "touch /tmp/x", pty: false }))],
  ["stdin before hello", FrameType.stdin, Buffer.from("rm -rf ~\n")],
  ["an unknown frame type", 0x7f, Buffer.alloc(0)],
  ["a hello that is not JSON", FrameType.hello, Buffer.from("{not json")],
])("%s: dropped, nothing spawned", async (_name, type, payload) => {
  const { server, logs, spawns } = await startServer();
  const { peer } = await challenged(server.port);
  peer.send(type as FrameType, payload);
  expect(await peer.next()).toBe("closed");
  expect(spawns()).toBe(0);
  await server.close();
  expect(logs).toEqual([expect.stringMatching(/^refused 1 connection that did not authenticate in .* \(1 rejected\)/)]);
});

test("a stranger's refusals are one line 1 s after the first, then at most one per 10 s; a peer that left is none", async () => {
  const timers = manualTimers();
  const { server, logs } = await startServer({ timers });
  const probe = await challenged(server.port);
  probe.peer.socket.destroy();
  await waitFor(() => server.connectionCount() === 0);
  for (let i = 0; i < 3; i++) {
    const { peer } = await challenged(server.port);
    peer.send(0x7f as FrameType, Buffer.alloc(0));
    expect(await peer.next()).toBe("closed");
  }
  timers.advance(999);
  expect(logs).toEqual([]);
  timers.advance(1);
  expect(logs).toEqual([
    "refused 3 connections that did not authenticate in 1.0 s (3 rejected); most from 127.0.0.1 (3)",
  ]);
  const { peer } = await challenged(server.port);
  peer.sendControl(FrameType.hello, { node: "node1", nonce: createNonce(), mac: "0".repeat(64) });
  expect(await peer.next()).toMatchObject({ type: FrameType.reject });
  timers.advance(9999);
  expect(logs).toHaveLength(1);
  timers.advance(1);
  expect(logs.at(-1)).toBe(
    "refused 1 connection that did not authenticate in 10.0 s (1 rejected); most from 127.0.0.1 (1)",
  );
});

test("a hello announcing a megabyte is dropped at its header, without waiting for the bytes", async () => {
  const { server, spawns } = await startServer();
  const { peer } = await challenged(server.port);
  peer.socket.write(encodeFrameHeader(FrameType.hello, 1024 * 1024));
  expect(await peer.next()).toBe("closed");
  expect(spawns()).toBe(0);
});

test("a forged MAC, then an exec in the same write: rejected, nothing spawned", async () => {
  const { server, spawns } = await startServer();
  const { peer } = await challenged(server.port);
  peer.sendControl(FrameType.hello, { node: "node1", nonce: createNonce(), mac: "0".repeat(64) });
  peer.sendControl(FrameType.exec, { command: "touch /tmp/never", pty: false });
  const reject = await peer.next();
  expect(reject).toMatchObject({ type: FrameType.reject });
  expect(await peer.next()).toBe("closed");
  expect(spawns()).toBe(0);
});

test("a MAC replayed from another connection (another server nonce) is refused", async () => {
  const { server, spawns } = await startServer();
  const first = await challenged(server.port);
  const nonce = createNonce();
  const mac = computeMac(secret, "agent-client", {
    jobKey,
    masterNonce: first.serverNonce,
    workerNonce: nonce,
    node: "node1",
    port: server.port,
  });
  const second = await challenged(server.port);
  second.peer.sendControl(FrameType.hello, { node: "node1", nonce, mac });
  expect(await second.peer.next()).toMatchObject({ type: FrameType.reject });
  expect(spawns()).toBe(0);
});

test("the server's own MAC (role agent-server) does not pass as a client's", async () => {
  const { server, spawns } = await startServer();
  const { peer, serverNonce } = await challenged(server.port);
  const nonce = createNonce();
  const mac = computeMac(secret, "agent-server", {
    jobKey,
    masterNonce: serverNonce,
    workerNonce: nonce,
    node: "node1",
    port: server.port,
  });
  peer.sendControl(FrameType.hello, { node: "node1", nonce, mac });
  expect(await peer.next()).toMatchObject({ type: FrameType.reject });
  expect(spawns()).toBe(0);
});

test("input past the stdin window drops the connection and kills the command", async () => {
  const { server, logs } = await startServer();
  const peer = await authenticated(server.port, "sleep 30");
  peer.send(FrameType.stdin, Buffer.alloc(STDIN_WINDOW_BYTES));
  peer.send(FrameType.stdin, Buffer.alloc(1));
  let frame = await peer.next();
  while (frame !== "closed" && frame.type === FrameType.stdinWindow) frame = await peer.next();
  expect(frame).toBe("closed");
  expect(logs).toEqual([expect.stringContaining("input past its window) (killing what the command started)")]);
});

test("a frame the client may not send (stdout) while running drops the connection", async () => {
  const { server, logs } = await startServer();
  const peer = await authenticated(server.port, "sleep 30");
  peer.send(FrameType.stdout, Buffer.from("x"));
  expect(await peer.next()).toBe("closed");
  expect(logs).toEqual([expect.stringContaining("unexpected frame type 0x12")]);
});
