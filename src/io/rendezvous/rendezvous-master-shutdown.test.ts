import { afterEach, describe, expect, it } from "vitest";
import { encodeMessage } from "../../core/rendezvous/index.js";
import {
  countHandles,
  handshakeByHand,
  manualTimers,
  master,
  rawClient,
  runCleanups,
  settleIo,
  waitUntil,
  worker,
} from "./rendezvous-harness.test-support.js";
import type { MasterEvent } from "./rendezvous-master.js";

afterEach(runCleanups);

describe("the master's shutdown", () => {
  it("sends abort with its reason", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    const s = await worker(m.port, "n1");
    await m.abort("scancel");
    expect(await s.outcome).toEqual({ kind: "abort", reason: "scancel" });
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
});

describe("the master's shutdown timers (a manual clock)", () => {
  it("lingers exactly as long as asked for the nodes not yet joined", async () => {
    const timers = manualTimers();
    const events: MasterEvent[] = [];
    const m = await master({ expectedNodes: ["n1"], timers, onEvent: (e) => events.push(e) });
    let closed = false;
    const closing = m.abort("bye", { lingerMs: 10_000 }).then(() => {
      closed = true;
    });
    expect(events.at(-1)).toEqual({ type: "lingering", nodes: ["n1"], lingerMs: 10_000 });
    timers.advance(9_999);
    await settleIo();
    expect(closed).toBe(false);
    timers.advance(1);
    await closing;
    expect(await rawClient(m.port).closed).toBe("");
  });

  it("gives a worker that does not hang up the grace to read done, then cuts it off", async () => {
    const timers = manualTimers();
    const m = await master({ expectedNodes: ["n1"], closeGraceMs: 2000, timers });
    const n1 = await handshakeByHand(m.port, "n1", { allowHalfOpen: true });
    let heard = "";
    n1.on("data", (chunk: Buffer) => {
      heard += chunk.toString();
    });
    const cutOff = new Promise((resolve) => n1.on("close", resolve));
    n1.write(encodeMessage({ type: "ready" }));
    expect((await m.ready).ok).toBe(true);
    let finished = false;
    const finishing = m.finish(7).then(() => {
      finished = true;
    });
    await waitUntil(() => heard.includes('{"type":"done","exitCode":7}'), 2000);
    timers.advance(1999);
    await settleIo();
    expect(finished).toBe(false);
    timers.advance(1);
    await finishing;
    // The master's end is gone: the first ping is answered with a reset, the second fails.
    n1.write(encodeMessage({ type: "ping" }));
    await settleIo();
    n1.write(encodeMessage({ type: "ping" }));
    await cutOff;
  });
});
