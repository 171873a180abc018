// The smoke version of `npm run bench:scale`: a real master and 256 real workers in one process,
// all at once, as srun starts them. Correctness only (every worker ready, a lost one noticed,
// the abort reaching all, nothing retried or dropped); the timings are the bench's business.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { WorkerOutcome } from "../../core/rendezvous/index.js";
import { jobKey, master, runCleanups, secret } from "./rendezvous-harness.test-support.js";
import type { MasterEvent, WorkerLost } from "./rendezvous-master.js";
import { connectRendezvousWorker, type WorkerEvent } from "./rendezvous-worker.js";

afterEach(runCleanups);

const N = 256;
const nodes = Array.from({ length: N }, (_, i) => `nid${String(i + 1).padStart(5, "0")}`);

describe("a rendezvous of 256 workers joining at once", () => {
  it("gets every worker ready, notices one lost, and tells all the others the abort", { timeout: 60_000 }, async () => {
    const masterEvents: MasterEvent[] = [];
    const m = await master({ expectedNodes: nodes, deadlineMs: 30_000, onEvent: (e) => masterEvents.push(e) });
    const workerEvents: WorkerEvent[] = [];
    const sockets = new Map<string, Socket>();
    const sessions = await Promise.all(
      nodes.map((node, i) =>
        connectRendezvousWorker({
          host: "127.0.0.1",
          port: m.port,
          secret,
          jobKey,
          node,
          rank: i + 1,
          deadlineMs: 30_000,
          connect: (port, host) => {
            const socket = connect({ port, host });
            sockets.set(node, socket);
            return socket;
          },
          onEvent: (e) => workerEvents.push(e),
        }),
      ),
    );
    for (const session of sessions) void session.reportReady();

    const ready = await m.ready;
    expect(ready.ok && ready.workers).toEqual(nodes.map((node, i) => ({ node, rank: i + 1 })));

    const lost = new Promise<WorkerLost>((resolve) => m.onWorkerLost(resolve));
    const victim = nodes.at(-1) ?? "";
    sockets.get(victim)?.resetAndDestroy();
    expect(await lost).toMatchObject({ node: victim });

    await m.abort("scale smoke");
    const outcomes: WorkerOutcome[] = await Promise.all(sessions.map((s) => s.outcome));
    expect(outcomes.slice(0, -1)).toEqual(Array(N - 1).fill({ kind: "abort", reason: "scale smoke" }));
    expect(outcomes.at(-1)).toMatchObject({ kind: "lost" });

    expect(workerEvents.filter((e) => e.type !== "joined")).toEqual([]);
    expect(masterEvents.filter((e) => e.type === "connection-dropped" || e.type === "worker-failed")).toEqual([]);
    expect(masterEvents.filter((e) => e.type === "worker-lost").map((e) => e.type === "worker-lost" && e.node)).toEqual(
      [victim],
    );
  });
});
