import { afterEach, describe, expect, it } from "vitest";
import { describeRendezvousFailure, encodeMessage } from "../../core/rendezvous/index.js";
import {
  handshakeByHand,
  manualTimers,
  master,
  runCleanups,
  settleIo,
  waitUntil,
  worker,
} from "./rendezvous-harness.test-support.js";
import type { WorkerLost } from "./rendezvous-master.js";

afterEach(runCleanups);

describe("the master's session with joined workers", () => {
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
});

describe("the master's session timers (a manual clock)", () => {
  it("fails the rendezvous at the deadline, not a moment before", async () => {
    const timers = manualTimers();
    const m = await master({ expectedNodes: ["n1", "n2"], deadlineMs: 30_000, pingIntervalMs: 60_000, timers });
    await handshakeByHand(m.port, "n1");
    let settled = false;
    void m.ready.then(() => {
      settled = true;
    });
    timers.advance(29_999);
    await settleIo();
    expect(settled).toBe(false);
    timers.advance(1);
    expect(await m.ready).toEqual({
      ok: false,
      failure: {
        reason: "deadline",
        elapsedMs: 30_000,
        missing: [
          { node: "n1", state: "connected-not-ready" },
          { node: "n2", state: "never-connected" },
        ],
      },
    });
  });

  it("loses a ready worker that stays silent past the missed pings, and not before", async () => {
    const timers = manualTimers();
    const m = await master({ expectedNodes: ["n2"], pingIntervalMs: 1000, missedPings: 3, timers });
    const lost: WorkerLost[] = [];
    m.onWorkerLost((l) => lost.push(l));
    const silent = await handshakeByHand(m.port, "n2");
    silent.write(encodeMessage({ type: "ready" }));
    expect((await m.ready).ok).toBe(true);
    timers.advance(3000);
    await settleIo();
    expect(lost).toEqual([]);
    timers.advance(1000);
    await waitUntil(() => lost.length === 1, 2000);
    expect(lost).toEqual([{ node: "n2", reason: "no heartbeat for 4.0 s" }]);
  });
});
