// Another user floods the rendezvous port with connections that never authenticate: the master
// holds a bounded number of them, and the real workers still join at once and the job runs.
import { afterEach, describe, expect, it } from "vitest";
import { rendezvousHandshakeLimit } from "../../core/channel/index.js";
import { flood } from "../channel/flood.test-support.js";
import { master, runCleanups, waitUntil, worker } from "./rendezvous-harness.test-support.js";
import type { MasterEvent } from "./rendezvous-master.js";

afterEach(runCleanups);

const crowded = (events: MasterEvent[]) =>
  events.filter(
    (e) => e.type === "connection-dropped" && e.reason === "too many connections in their handshake at once",
  ).length;

describe("a flood of connections on the rendezvous port", () => {
  it("500 junk connections held open: the workers still join within a moment, the joined one stays", async () => {
    const events: MasterEvent[] = [];
    const m = await master({ onEvent: (e) => events.push(e), deadlineMs: 10_000 });
    const first = await worker(m.port, "n1");
    const junk = await flood(m.port, 500);
    try {
      await waitUntil(() => junk.open() <= rendezvousHandshakeLimit(3), 3000);
      expect(crowded(events)).toBeGreaterThanOrEqual(500 - rendezvousHandshakeLimit(3));
      const started = Date.now();
      const others = await Promise.all([worker(m.port, "n2"), worker(m.port, "n3")]);
      expect(Date.now() - started).toBeLessThan(1000);
      for (const session of [first, ...others]) await session.reportReady();
      const ready = await m.ready;
      expect(ready.ok).toBe(true);
      expect(junk.open()).toBeLessThanOrEqual(rendezvousHandshakeLimit(3));
      await m.finish(7);
      for (const session of [first, ...others]) expect(await session.outcome).toEqual({ kind: "done", exitCode: 7 });
    } finally {
      junk.stop();
    }
  });

  it("a flood that reconnects as fast as it is closed, from another address, does not keep the workers out", async () => {
    const m = await master({ deadlineMs: 10_000, maxHandshakes: 32 });
    const junk = await flood(m.port, 200, { localAddress: "127.0.0.2", reconnect: true });
    try {
      const sessions = await Promise.all(["n1", "n2", "n3"].map((n) => worker(m.port, n)));
      for (const session of sessions) await session.reportReady();
      expect((await m.ready).ok).toBe(true);
      await m.finish(0);
      for (const session of sessions) expect(await session.outcome).toEqual({ kind: "done", exitCode: 0 });
    } finally {
      junk.stop();
    }
  });
});
