// The rendezvous when another user holds its ports: the master listens on the first candidate
// free, workers find it, a squatter that relays the handshake gets nothing, and the remote port
// and MASTER_PORT reach every worker.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../core/common/index.js";
import {
  fakeMaster,
  jobKey,
  listening,
  master,
  runCleanups,
  secret,
  worker,
} from "./rendezvous-harness.test-support.js";
import type { MasterEvent } from "./rendezvous-master.js";
import { startRendezvousMaster } from "./rendezvous-master.js";
import type { WorkerEvent } from "./rendezvous-worker.js";

afterEach(runCleanups);

const portOf = (server: { address(): unknown }) => (server.address() as { port: number }).port;

describe("the rendezvous on fallback ports", () => {
  it("listens on the first candidate nobody holds; a worker tries them in order and joins", async () => {
    const taken = [await listening(), await listening()].map(portOf);
    const free = await listening().then((s) => {
      const port = portOf(s);
      s.close();
      return port;
    });
    const m = await master({ port: taken[0] ?? 0, fallbackPorts: [taken[1] ?? 0, free], expectedNodes: ["n1"] });
    expect(m.port).toBe(free);
    const events: WorkerEvent[] = [];
    const session = await worker(taken[0] ?? 0, "n1", {
      fallbackPorts: [taken[1] ?? 0, free],
      candidateTimeoutMs: 200,
      onEvent: (e) => events.push(e),
    });
    await session.reportReady();
    expect((await m.ready).ok).toBe(true);
    // The two listening servers never answer: each cost the worker one short attempt.
    expect(events.filter((e) => e.type === "attempt-failed").map((e) => "port" in e && e.port)).toEqual(taken);
    await m.finish(0);
  });

  it("fails naming every candidate when all are taken", async () => {
    const taken = [await listening(), await listening()].map(portOf);
    const error = await startRendezvousMaster({
      port: taken[0] ?? 0,
      fallbackPorts: [taken[1] ?? 0],
      host: "127.0.0.1",
      secret,
      jobKey,
      expectedNodes: [],
      deadlineMs: 1000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      message: `all 2 rendezvous port candidates (${taken.join(", ")}) are in use`,
    });
  });

  it("a squatter that relays the handshake to the real master gets the worker refused there", async () => {
    const masterEvents: MasterEvent[] = [];
    const m = await master({ expectedNodes: ["n1"], onEvent: (e) => masterEvents.push(e) });
    // Bob's relay on the first candidate: everything the worker sends goes to the real master.
    const relay = await fakeMaster((socket) => {
      const upstream: Socket = connect({ port: m.port, host: "127.0.0.1" });
      upstream.on("error", () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
    });
    const events: WorkerEvent[] = [];
    const session = await worker(relay.port, "n1", { fallbackPorts: [m.port], onEvent: (e) => events.push(e) });
    await session.reportReady();
    expect((await m.ready).ok).toBe(true);
    expect(events[0]).toMatchObject({ type: "attempt-failed", port: relay.port });
    // The MAC made for the relay's port does not pass on the master's.
    expect(masterEvents).toContainEqual(
      expect.objectContaining({ type: "connection-dropped", reason: "authentication failed (claimed node n1)" }),
    );
    await m.finish(0);
  });

  it("tells MASTER_PORT in the welcome, and the moved remote ports once every worker said its own", async () => {
    const m = await master({ masterPort: 23_456, expectedNodes: ["n1", "n2", "n3"] });
    const [first, second, third] = [
      await worker(m.port, "n1", {}),
      await worker(m.port, "n2", {}),
      await worker(m.port, "n3", {}),
    ];
    expect(first.masterPort()).toBe(23_456);
    let told = false;
    const ports = first.waitForRemotePorts().then((r) => {
      told = true;
      return r;
    });
    await first.reportRemotePort(20_000);
    await second.reportRemotePort(21_000);
    let said = false;
    void m.remotePorts.then(() => {
      said = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    // Joined, two of three said: nothing settles yet.
    expect([told, said]).toEqual([false, false]);
    await third.reportRemotePort(20_000);
    const all = await m.remotePorts;
    expect(all.ok && [...all.ports]).toEqual([
      ["n1", 20_000],
      ["n2", 21_000],
      ["n3", 20_000],
    ]);
    m.sendMovedPorts([{ node: "n2", port: 21_000 }]);
    const moved = { kind: "ports", moved: [{ node: "n2", port: 21_000 }] };
    expect(await ports).toEqual(moved);
    expect(await second.waitForRemotePorts()).toEqual(moved);
    expect(await third.waitForRemotePorts()).toEqual(moved);
    for (const session of [first, second, third]) await session.reportReady();
    expect((await m.ready).ok).toBe(true);
    await m.finish(0);
  });

  it("settles `remotePorts` (not ok) when a worker fails before every worker said its port", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const first = await worker(m.port, "n1", {});
    await first.reportRemotePort(20_000);
    await first.reportFailed("no image here");
    expect(await m.remotePorts).toEqual({ ok: false });
    expect(await m.ready).toMatchObject({ ok: false, failure: { reason: "worker-failed" } });
  });

  it("a worker waiting for the remote ports hears the abort instead", async () => {
    const m = await master({ expectedNodes: ["n1", "n2"] });
    const waiting = await worker(m.port, "n1", {});
    await waiting.reportRemotePort(20_000);
    void m.abort("the master failed", { lingerMs: 0 });
    expect(await waiting.waitForRemotePorts()).toEqual({ kind: "abort", reason: "the master failed" });
  });
});
