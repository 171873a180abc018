// The image announcement and the workers' pull reports over a real rendezvous on 127.0.0.1.
import { afterEach, describe, expect, it } from "vitest";
import { encodeMessage } from "../../core/rendezvous/index.js";
import {
  handshakeByHand,
  manualTimers,
  master,
  runCleanups,
  settleIo,
  waitUntil,
  worker,
} from "./rendezvous-harness.test-support.js";
import type { PullReport } from "./rendezvous-master.js";

afterEach(runCleanups);

const IMAGE = {
  ref: "reg:5000/test@sha256:1111111111111111111111111111111111111111111111111111111111111111",
  id: `sha256:${"2".repeat(64)}`,
};

describe("the image every node runs", () => {
  it("reaches the workers joined before it was announced and the ones that join after", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const early = await worker(m.port, "n1");
    m.announceImage(IMAGE);
    const late = await worker(m.port, "n2");
    expect(await early.image).toEqual(IMAGE);
    expect(await late.image).toEqual(IMAGE);
  });

  it("a worker the job ends before any announcement gets the outcome instead", async () => {
    const m = await master({ expectedNodes: ["n1"] });
    const w = await worker(m.port, "n1");
    await m.abort("no such image", { lingerMs: 0 });
    expect(await w.image).toEqual({ kind: "abort", reason: "no such image" });
  });
});

describe("pulls and the readiness deadline", () => {
  it("a worker's pull holds the deadline; its reports reach the master; ready releases it", async () => {
    const timers = manualTimers();
    const m = await master({ expectedNodes: ["n1"], deadlineMs: 1000, pingIntervalMs: 3_600_000, timers });
    const reports: Array<[string, PullReport]> = [];
    m.onPull((node, report) => reports.push([node, report]));
    const sock = await handshakeByHand(m.port, "n1");
    sock.write(encodeMessage({ type: "pull", done: 10, total: 100, layers: 2, layersDone: 1 }));
    await waitUntil(() => reports.length === 1, 2000);
    timers.advance(600_000);
    await settleIo();
    let settled = false;
    void m.ready.then(() => {
      settled = true;
    });
    await settleIo();
    expect(settled).toBe(false);
    sock.write(encodeMessage({ type: "pulled", bytes: 100, ms: 600_000, from: "registry" }));
    sock.write(encodeMessage({ type: "ready" }));
    expect(await m.ready).toMatchObject({ ok: true });
    expect(reports).toEqual([
      ["n1", { type: "pull", done: 10, total: 100, layers: 2, layersDone: 1 }],
      ["n1", { type: "pulled", bytes: 100, ms: 600_000, from: "registry" }],
    ]);
  });

  it("after a pull the deadline runs on with what was left, and names the node that never came", async () => {
    const timers = manualTimers();
    const m = await master({ expectedNodes: ["n1", "n2"], deadlineMs: 1000, pingIntervalMs: 3_600_000, timers });
    let reports = 0;
    m.onPull(() => reports++);
    const sock = await handshakeByHand(m.port, "n1");
    sock.write(encodeMessage({ type: "pull", done: 0, total: 0, layers: 0, layersDone: 0 }));
    await waitUntil(() => reports === 1, 2000);
    timers.advance(100_000);
    sock.write(encodeMessage({ type: "pulled", bytes: 5, ms: 100_000, from: "registry" }));
    await waitUntil(() => reports === 2, 2000);
    timers.advance(999);
    let settled = false;
    void m.ready.then(() => {
      settled = true;
    });
    await settleIo();
    expect(settled).toBe(false);
    timers.advance(1);
    expect(await m.ready).toMatchObject({
      ok: false,
      failure: { reason: "deadline", missing: [{ node: "n1" }, { node: "n2", state: "never-connected" }] },
    });
  });

  it("the master's own pull holds it too", async () => {
    const timers = manualTimers();
    const m = await master({ expectedNodes: ["n1"], deadlineMs: 1000, pingIntervalMs: 3_600_000, timers });
    m.holdDeadline("master", true);
    timers.advance(50_000);
    const w = await worker(m.port, "n1");
    m.holdDeadline("master", false);
    await w.reportReady();
    expect(await m.ready).toMatchObject({ ok: true });
  });
});

describe("--pull-once: where each worker gets the image", () => {
  const parents = new Map([
    ["n2", "n1"],
    ["n3", "n1"],
    ["n4", "n2"],
  ]);

  it("each worker hears its parent's relay port once both joined, whichever came first, plan before or after", async () => {
    const m = await master({ expectedNodes: ["n2", "n3", "n4"] });
    const n4 = await worker(m.port, "n4", { relay: 4004 });
    const n3 = await worker(m.port, "n3", { relay: 4003 });
    m.planRelay({ parents, masterNode: "n1", masterPort: 4001 });
    expect(await n3.relaySource).toEqual({ node: "n1", port: 4001 });
    let n4Told = false;
    void n4.relaySource.then(() => {
      n4Told = true;
    });
    await settleIo();
    // n4 gets it from n2, which has not joined: nothing yet.
    expect(n4Told).toBe(false);
    const n2 = await worker(m.port, "n2", { relay: 4002 });
    expect(await n2.relaySource).toEqual({ node: "n1", port: 4001 });
    expect(await n4.relaySource).toEqual({ node: "n2", port: 4002 });
  });

  it("a parent that could not listen for the relay: its children are told so, and pull from the registry", async () => {
    const m = await master({ expectedNodes: ["n2", "n4"] });
    m.planRelay({ parents, masterNode: "n1", masterPort: undefined });
    const n2 = await worker(m.port, "n2");
    const n4 = await worker(m.port, "n4", { relay: 4004 });
    expect(await n2.relaySource).toEqual({ node: "n1" });
    expect(await n4.relaySource).toEqual({ node: "n2" });
  });

  it("a worker the job ends first gets the outcome", async () => {
    const m = await master({ expectedNodes: ["n2"] });
    const n2 = await worker(m.port, "n2", { relay: 4002 });
    await m.abort("cancelled", { lingerMs: 0 });
    expect(await n2.relaySource).toEqual({ kind: "abort", reason: "cancelled" });
  });

  it("a worker's pull report says the node its image comes from", async () => {
    const m = await master({ expectedNodes: ["n2"] });
    const reports: PullReport[] = [];
    m.onPull((_node, report) => reports.push(report));
    const n2 = await worker(m.port, "n2");
    await n2.reportPull({ layers: 1, layersDone: 0, bytesDone: 5, bytesTotal: 10 }, "n1");
    await waitUntil(() => reports.length === 1, 2000);
    expect(reports[0]).toEqual({ type: "pull", done: 5, total: 10, layers: 1, layersDone: 0, from: "n1" });
  });
});
