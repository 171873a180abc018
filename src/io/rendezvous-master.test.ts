import { connect, createServer, type Server, type Socket } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../core/errors.js";
import { type RendezvousMaster, type RendezvousMasterOptions, startRendezvousMaster } from "./rendezvous-master.js";
import {
  computeMac,
  createLineDecoder,
  describeRendezvousFailure,
  encodeMessage,
  parseMasterMessage,
} from "./rendezvous-protocol.js";
import { connectRendezvousWorker, type RendezvousWorkerOptions } from "./rendezvous-worker.js";

const secret = Buffer.alloc(32, 1);
const jobKey = "4242.0";
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function master(options: Partial<RendezvousMasterOptions> = {}): Promise<RendezvousMaster> {
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

function worker(port: number, node: string, options: Partial<RendezvousWorkerOptions> = {}) {
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
function rawClient(port: number): { socket: Socket; closed: Promise<string> } {
  const socket = connect({ port, host: "127.0.0.1" });
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString();
  });
  socket.on("error", () => {});
  return { socket, closed: new Promise((resolve) => socket.on("close", () => resolve(received))) };
}

describe("startRendezvousMaster", () => {
  it("waits for every worker, then sends done with the exit code", async () => {
    const m = await master();
    const sessions = await Promise.all(["n1", "n2", "n3"].map((n) => worker(m.port, n)));
    sessions.forEach((s, i) => s.reportReady({ slots: i + 1 }));
    const ready = await m.ready;
    expect(ready.ok && ready.workers).toEqual([
      { node: "n1", rank: 1, info: { slots: 1 } },
      { node: "n2", rank: 2, info: { slots: 2 } },
      { node: "n3", rank: 3, info: { slots: 3 } },
    ]);
    await m.finish(3);
    for (const s of sessions) expect(await s.outcome).toEqual({ kind: "done", exitCode: 3 });
  });

  it("sends abort with its reason", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    const s = await worker(m.port, "n1");
    await m.abort("scancel");
    expect(await s.outcome).toEqual({ kind: "abort", reason: "scancel" });
  });

  it("resolves at once with no workers to wait for", async () => {
    const m = await master({ expectedNodes: [] });
    expect(await m.ready).toMatchObject({ ok: true, workers: [] });
  });

  it("names each missing node and why when the deadline passes", async () => {
    const m = await master({ deadlineMs: 300 });
    (await worker(m.port, "n1")).reportReady();
    await worker(m.port, "n2");
    const ready = await m.ready;
    expect(ready.ok).toBe(false);
    if (ready.ok) return;
    expect(ready.failure.reason).toBe("deadline");
    expect(ready.failure.missing).toEqual([
      { node: "n2", state: "connected-not-ready" },
      { node: "n3", state: "never-connected" },
    ]);
    expect(describeRendezvousFailure(ready.failure)).toContain("n3: never connected");
  });

  it("fails fast with the message of a worker that failed", async () => {
    const m = await master({ deadlineMs: 5000 });
    (await worker(m.port, "n1")).reportReady();
    (await worker(m.port, "n3")).reportFailed("image foo:1 not found on n3");
    const ready = await m.ready;
    expect(ready.ok).toBe(false);
    if (ready.ok) return;
    expect(ready.failure.reason).toBe("worker-failed");
    expect(ready.failure.elapsedMs).toBeLessThan(2000);
    expect(ready.failure.missing).toEqual([
      { node: "n3", state: "failed", message: "image foo:1 not found on n3" },
      { node: "n2", state: "never-connected" },
    ]);
  });

  it("gets a failure reported just before the worker leaves", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    const s = await worker(m.port, "n1");
    void s.reportFailed("sshd did not start");
    s.close();
    const ready = await m.ready;
    expect(!ready.ok && ready.failure.missing).toEqual([
      { node: "n1", state: "failed", message: "sshd did not start" },
    ]);
  });

  it("fails fast when a worker disconnects before ready", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    (await worker(m.port, "n1")).close();
    const ready = await m.ready;
    expect(!ready.ok && ready.failure).toMatchObject({
      reason: "worker-disconnected",
      missing: [{ node: "n1", state: "disconnected" }],
    });
  });

  it("reports a worker lost after ready, by disconnect or by silence", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"], pingIntervalMs: 40, missedPings: 3 });
    const lost: string[] = [];
    m.onWorkerLost(({ node, reason }) => lost.push(`${node}: ${reason}`));
    const s1 = await worker(m.port, "n1", { pingIntervalMs: 40 });
    s1.reportReady();
    // n2 authenticates by hand, says ready, then never sends another byte (its node died).
    const silent = await handshakeByHand(m.port, "n2");
    silent.write(encodeMessage({ type: "ready" }));
    expect((await m.ready).ok).toBe(true);
    s1.close();
    await waitUntil(() => lost.length === 2, 2000);
    expect(lost.sort()).toEqual([
      expect.stringMatching(/^n1: /),
      expect.stringMatching(/^n2: no heartbeat for 0\.\d s$/),
    ]);
    silent.destroy();
  });

  it("rejects an impostor worker and notes it for the node it claimed", async () => {
    const m = await master({ expectedNodes: ["n1"], deadlineMs: 400 });
    const impostor = worker(m.port, "n1", { secret: Buffer.alloc(32, 2), deadlineMs: 300 });
    await expect(impostor).rejects.toThrow(/could not join the rendezvous at 127\.0\.0\.1:\d+/);
    const ready = await m.ready;
    expect(!ready.ok && ready.failure.missing).toEqual([
      {
        node: "n1",
        state: "never-connected",
        note: expect.stringMatching(/claiming to be it failed authentication/),
      },
    ]);
  });

  it("rejects a node not in the job and a second hello for the same node", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    await worker(m.port, "n1");
    await expect(worker(m.port, "n1", { deadlineMs: 200 })).rejects.toThrow(/n1 already joined/);
    await expect(worker(m.port, "n9", { deadlineMs: 200 })).rejects.toThrow(/n9 is not part of this job step/);
  });

  it("drops garbage, early messages and overlong lines, and keeps serving", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    for (const bytes of ["hello\n", "{}\n", '{"type":"ready"}\n', "x".repeat(70 * 1024)]) {
      const client = rawClient(m.port);
      client.socket.write(bytes);
      expect(await client.closed).toMatch(/^\{"type":"challenge"/);
    }
    (await worker(m.port, "n1")).reportReady();
    expect((await m.ready).ok).toBe(true);
  });

  it("never crashes on random bytes", async () => {
    const m = await master({ expectedNodes: ["n1"], handshakeTimeoutMs: 200 });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, newline) => {
        const client = rawClient(m.port);
        client.socket.end(newline ? Buffer.concat([bytes, Buffer.from("\n")]) : bytes);
        await client.closed;
      }),
      { numRuns: 60 },
    );
    (await worker(m.port, "n1")).reportReady();
    expect((await m.ready).ok).toBe(true);
  });

  it("sends go to every ready worker and hears each one's exit", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const exited: string[] = [];
    m.onWorkerExited(({ node, exitCode }) => exited.push(`${node}=${exitCode}`));
    const sessions = await Promise.all(["n1", "n2"].map((n) => worker(m.port, n)));
    for (const s of sessions) await s.reportReady();
    expect((await m.ready).ok).toBe(true);
    m.start();
    expect(await Promise.all(sessions.map((s) => s.waitForGo()))).toEqual([{ kind: "go" }, { kind: "go" }]);
    await sessions[0]?.reportExited(0);
    await sessions[1]?.reportExited(3);
    await waitUntil(() => exited.length === 2, 2000);
    expect(exited.sort()).toEqual(["n1=0", "n2=3"]);
    await m.finish(3);
    for (const s of sessions) expect(await s.outcome).toEqual({ kind: "done", exitCode: 3 });
  });

  it("does not report a worker that exited and then left as lost", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const lost: string[] = [];
    m.onWorkerLost(({ node }) => lost.push(node));
    const [s1, s2] = await Promise.all(["n1", "n2"].map((n) => worker(m.port, n)));
    if (s1 === undefined || s2 === undefined) throw new Error("no session");
    await Promise.all([s1.reportReady(), s2.reportReady()]);
    expect((await m.ready).ok).toBe(true);
    m.start();
    await s1.waitForGo();
    const exited = new Promise((resolve) => m.onWorkerExited(resolve));
    await s1.reportExited(0);
    await exited;
    s1.close();
    s2.close();
    await waitUntil(() => lost.length > 0, 2000);
    await new Promise((r) => setTimeout(r, 50));
    expect(lost).toEqual(["n2"]);
  });

  it("refuses start before every worker is ready, and drops an exit before go", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    expect(() => m.start()).toThrow(/before every worker was ready; please report/);
    const s = await worker(m.port, "n1");
    await s.reportExited(0);
    const ready = await m.ready;
    expect(!ready.ok && ready.failure.missing).toEqual([
      { node: "n1", state: "disconnected", reason: '"exited" before go' },
    ]);
  });

  it("answers a worker that joins after the abort with abort, then closes at once", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const s1 = await worker(m.port, "n1");
    const aborted = Date.now();
    const closed = m.abort("master node1: script not found");
    expect(await s1.outcome).toEqual({ kind: "abort", reason: "master node1: script not found" });
    // n2 comes up late, with the default 120 s deadline of a real worker.
    await new Promise((r) => setTimeout(r, 150));
    const s2 = await worker(m.port, "n2", { deadlineMs: 120_000 });
    expect(await s2.outcome).toEqual({ kind: "abort", reason: "master node1: script not found" });
    expect(Date.now() - aborted).toBeLessThan(1000);
    await closed;
    // Every node was told: the linger (10 s by default) ended early and the port is closed.
    expect(Date.now() - aborted).toBeLessThan(1500);
    expect(await rawClient(m.port).closed).toBe("");
    expect((await m.ready).ok).toBe(false);
  });

  it("tells the late workers after a failed rendezvous, but does not wait for the node that left", async () => {
    const m = await master({ expectedNodes: ["n1", "n2", "n3"], deadlineMs: 200 });
    const s1 = await worker(m.port, "n1");
    await s1.reportFailed("image not found");
    s1.close();
    const ready = await m.ready;
    expect(!ready.ok && ready.failure.reason).toBe("worker-failed");
    const late = ["n2", "n3"].map((n) => worker(m.port, n, { deadlineMs: 120_000 }));
    const closed = m.abort("n1 failed", { lingerMs: 5000 });
    const sessions = await Promise.all(late);
    for (const s of sessions) expect(await s.outcome).toEqual({ kind: "abort", reason: "n1 failed" });
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("stops lingering when the linger passes, and then refuses connections", async () => {
    const m = await master({ expectedNodes: ["n1"], deadlineMs: 50 });
    expect(await m.ready).toMatchObject({ ok: false, failure: { reason: "deadline" } });
    const started = Date.now();
    await m.abort("bye", { lingerMs: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(Date.now() - started).toBeLessThan(1500);
    await expect(worker(m.port, "n1", { deadlineMs: 200 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("cuts a linger short on close", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    const started = Date.now();
    const closed = m.abort("bye");
    m.close();
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("cuts a linger short when aborted again without one (a cancel after a failure)", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    const started = Date.now();
    const failed = m.abort("start failed"); // lingers 10 s for n1 by default
    const cancelled = m.abort("the job was cancelled", { lingerMs: 0 });
    await Promise.all([failed, cancelled]);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("leaves nothing holding the process once abort resolves", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const s1 = await worker(m.port, "n1");
    const closed = m.abort("bye");
    const s2 = await worker(m.port, "n2");
    await closed;
    await Promise.all([s1.outcome, s2.outcome]);
    // No socket, server or timer of either side is left (a leaked 10 s linger timer would be).
    await waitUntil(() => countHandles() === 0, 2000);
  });

  it("turns a port in use into a UserError naming the port", async () => {
    const server = await listening();
    const port = (server.address() as { port: number }).port;
    const error = await startRendezvousMaster({
      port,
      host: "127.0.0.1",
      secret,
      jobKey,
      expectedNodes: [],
      deadlineMs: 1000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      code: "rendezvous-port-in-use",
      message: `rendezvous port ${port} on 127.0.0.1 is already in use`,
      hint: expect.stringContaining("--rendezvous-port"),
    });
  });
});

function listening(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    cleanups.push(() => server.close());
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** A worker that speaks the handshake itself, so a test can then keep it silent. */
function handshakeByHand(port: number, node: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" });
    const decoder = createLineDecoder();
    const workerNonce = "c".repeat(32);
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      for (const line of decoder.push(chunk).lines) {
        const message = parseMasterMessage(line);
        if (message?.type === "challenge") {
          const mac = computeMac(secret, "worker", { jobKey, masterNonce: message.nonce, workerNonce, node });
          socket.write(encodeMessage({ type: "hello", node, rank: 2, nonce: workerNonce, mac }));
        }
        if (message?.type === "welcome") resolve(socket);
      }
    });
  });
}

/** Sockets, servers and timers that would keep the process alive. */
function countHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => /^(TCPSocketWrap|TCPServerWrap|Timeout)$/.test(r)).length;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
