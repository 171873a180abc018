import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../core/common/index.js";
import { computeMac } from "../channel/mac.test-support.js";
import {
  fakeMaster,
  jobKey,
  master,
  onHello,
  runCleanups,
  secret,
  sendTo as send,
  welcomeTo,
} from "./rendezvous-harness.test-support.js";
import { connectRendezvousWorker, type RendezvousWorkerOptions, type WorkerEvent } from "./rendezvous-worker.js";

afterEach(runCleanups);

function worker(port: number, options: Partial<RendezvousWorkerOptions> = {}) {
  return connectRendezvousWorker({
    host: "127.0.0.1",
    port,
    secret,
    jobKey,
    node: "n1",
    rank: 1,
    deadlineMs: 3000,
    retryDelayMs: 20,
    ...options,
  });
}

function realMaster(port: number) {
  return master({ port, expectedNodes: ["n1"], deadlineMs: 3000 });
}

describe("connectRendezvousWorker", () => {
  it("retries until the master listens", async () => {
    const { server, port } = await fakeMaster(() => {});
    server.close();
    const events: WorkerEvent[] = [];
    const joining = worker(port, { onEvent: (e) => events.push(e) });
    await new Promise((r) => setTimeout(r, 150));
    const m = await realMaster(port);
    const session = await joining;
    session.reportReady();
    expect((await m.ready).ok).toBe(true);
    expect(events.at(0)).toMatchObject({ type: "attempt-failed", error: expect.stringMatching(/^ECONNREFUSED/) });
    expect(events.at(-1)).toMatchObject({ type: "joined" });
  });

  it("gives up at the deadline, naming the master and how long it waited", async () => {
    const { server, port } = await fakeMaster(() => {});
    server.close();
    const error = await worker(port, { deadlineMs: 250 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      code: "rendezvous-unreachable",
      message: expect.stringMatching(
        new RegExp(
          `^node n1 could not join the rendezvous at 127\\.0\\.0\\.1:${port} within 0\\.\\d s \\(\\d+ attempts; last: ECONNREFUSED`,
        ),
      ),
      hint: expect.stringContaining("--timeout"),
    });
  });

  it("ignores an impostor master, then joins the real one", async () => {
    // Bob holds the port first: sends done/abort unasked, then (next time) a welcome with a forged MAC.
    let connections = 0;
    const impostor = await fakeMaster((socket) => {
      if (++connections === 1) {
        send(socket, { type: "done", exitCode: 0 });
        send(socket, { type: "abort", reason: "bob says stop" });
        return;
      }
      onHello(socket, () => {
        welcomeTo(socket, "0".repeat(64));
        send(socket, { type: "done", exitCode: 0 });
      });
    });
    const events: WorkerEvent[] = [];
    const joining = worker(impostor.port, { onEvent: (e) => events.push(e) });
    await new Promise((r) => setTimeout(r, 150));
    await new Promise((r) => impostor.server.close(r));
    const m = await realMaster(impostor.port);
    const session = await joining;
    expect(events).toContainEqual(
      expect.objectContaining({
        error: "the peer on the rendezvous port sent something malformed (unexpected frame type 0x40)",
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ error: "the peer on the rendezvous port failed authentication (not our master)" }),
    );
    session.reportReady();
    expect((await m.ready).ok).toBe(true);
    let settled = false;
    void session.outcome.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await m.finish(5);
    expect(await session.outcome).toEqual({ kind: "done", exitCode: 5 });
  });

  it("never joins a master that does not hold the secret", async () => {
    const impostor = await fakeMaster((socket) =>
      onHello(socket, (masterNonce, hello, port) => {
        const wrong = Buffer.alloc(32, 9);
        const input = { jobKey, masterNonce, workerNonce: hello.nonce, node: hello.node, port };
        welcomeTo(socket, computeMac(wrong, "master", input));
      }),
    );
    await expect(worker(impostor.port, { deadlineMs: 250 })).rejects.toThrow(
      /failed authentication \(not our master\)/,
    );
  });

  it("waits for go, reports its exit, then still waits for done", async () => {
    const m = await realMaster(0);
    const exited = new Promise((resolve) => m.onWorkerExited(resolve));
    const session = await worker(m.port);
    await session.reportReady();
    expect((await m.ready).ok).toBe(true);
    m.start();
    expect(await session.waitForGo()).toEqual({ kind: "go" });
    await session.reportExited(300);
    expect(await exited).toEqual({ node: "n1", exitCode: 255 });
    let settled = false;
    void session.outcome.then(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await m.finish(0);
    expect(await session.outcome).toEqual({ kind: "done", exitCode: 0 });
    expect(await session.waitForGo()).toEqual({ kind: "go" });
  });

  it("gets the abort from waitForGo when the master aborts before go", async () => {
    const m = await realMaster(0);
    const session = await worker(m.port);
    await session.reportReady();
    expect((await m.ready).ok).toBe(true);
    await m.abort("the master's script is missing");
    expect(await session.waitForGo()).toEqual({ kind: "abort", reason: "the master's script is missing" });
  });

  it("gets lost from waitForGo when the master goes away", async () => {
    const m = await realMaster(0);
    const session = await worker(m.port);
    m.close();
    expect(await session.waitForGo()).toMatchObject({ kind: "lost" });
  });

  it("does not wait after reporting failure and leaving", async () => {
    const m = await realMaster(0);
    const session = await worker(m.port);
    await session.reportFailed("no image");
    session.close();
    expect(await session.outcome).toEqual({ kind: "lost", reason: "left by this node" });
    expect(await m.ready).toMatchObject({ ok: false, failure: { reason: "worker-failed" } });
  });

  it("joins a master that already aborted and gets the abort, not its deadline", async () => {
    const m = await realMaster(0);
    const closed = m.abort("too late");
    const started = Date.now();
    const session = await worker(m.port, { deadlineMs: 120_000 });
    expect(await session.outcome).toEqual({ kind: "abort", reason: "too late" });
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("sees the master go away without done as lost", async () => {
    const m = await realMaster(0);
    const session = await worker(m.port);
    m.close();
    expect(await session.outcome).toMatchObject({ kind: "lost", reason: expect.stringMatching(/without done/) });
  });

  it("sees a silent master (its node died, no FIN) as lost after the missed pings", async () => {
    const silent = await fakeMaster((socket) =>
      onHello(socket, (masterNonce, hello, port) => {
        const input = { jobKey, masterNonce, workerNonce: hello.nonce, node: hello.node, port };
        welcomeTo(socket, computeMac(secret, "master", input));
      }),
    );
    const started = Date.now();
    const session = await worker(silent.port, { pingIntervalMs: 40, missedPings: 3 });
    expect(await session.outcome).toMatchObject({ kind: "lost", reason: expect.stringMatching(/^no heartbeat/) });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
