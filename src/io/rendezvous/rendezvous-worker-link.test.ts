import { afterEach, describe, expect, it } from "vitest";
import { computeMac } from "../channel/mac.test-support.js";
import {
  fakeMaster,
  jobKey,
  manualTimers,
  onHello,
  runCleanups,
  secret,
  settleIo,
  waitUntil,
  welcomeTo,
  worker,
} from "./rendezvous-harness.test-support.js";

afterEach(runCleanups);

describe("a worker's attempt and session timers (a manual clock)", () => {
  it("gives up an attempt the master never welcomes, and names it at the deadline", async () => {
    const timers = manualTimers();
    let hellos = 0;
    const mute = await fakeMaster((socket) =>
      onHello(socket, () => {
        hellos++;
      }),
    );
    const joining = worker(mute.port, "n1", { timers, deadlineMs: 5000 }).catch((e: unknown) => e);
    await waitUntil(() => hellos === 1, 2000);
    timers.advance(5000);
    expect(await joining).toMatchObject({
      code: "rendezvous-unreachable",
      message: expect.stringContaining("within 5.0 s (1 attempts; last: no authenticated answer within 5.0 s)"),
    });
  });

  it("loses a master that falls silent after the welcome, after the missed pings and not before", async () => {
    const timers = manualTimers();
    const silent = await fakeMaster((socket) =>
      onHello(socket, (masterNonce, hello, port) => {
        const input = { jobKey, masterNonce, workerNonce: hello.nonce, node: hello.node, port };
        welcomeTo(socket, computeMac(secret, "master", input));
      }),
    );
    const session = await worker(silent.port, "n1", { timers, pingIntervalMs: 1000, missedPings: 3 });
    let settled = false;
    void session.outcome.then(() => {
      settled = true;
    });
    timers.advance(3000);
    await settleIo();
    expect(settled).toBe(false);
    timers.advance(1000);
    expect(await session.outcome).toEqual({ kind: "lost", reason: "no heartbeat from the master for 4.0 s" });
    expect(await session.waitForGo()).toEqual({ kind: "lost", reason: "no heartbeat from the master for 4.0 s" });
  });
});
