import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../../core/common/index.js";
import { jobKey, listening, master, runCleanups, secret, worker } from "./rendezvous-harness.test-support.js";
import { startRendezvousMaster } from "./rendezvous-master.js";

afterEach(runCleanups);

describe("startRendezvousMaster", () => {
  it("waits for every worker, then sends done with the exit code", async () => {
    const m = await master();
    const sessions = await Promise.all(["n1", "n2", "n3"].map((n) => worker(m.port, n)));
    for (const s of sessions) void s.reportReady();
    const ready = await m.ready;
    expect(ready.ok && ready.workers).toEqual([
      { node: "n1", rank: 1 },
      { node: "n2", rank: 2 },
      { node: "n3", rank: 3 },
    ]);
    await m.finish(3);
    for (const s of sessions) expect(await s.outcome).toEqual({ kind: "done", exitCode: 3 });
  });

  it("resolves at once with no workers to wait for", async () => {
    const m = await master({ expectedNodes: [] });
    expect(await m.ready).toMatchObject({ ok: true, workers: [] });
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
