import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { encodeFrame, type FrameType, HandshakeFrame } from "../../core/channel/index.js";
import { encodeMessage } from "../../core/rendezvous/index.js";
import {
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

/** All a stranger ever hears: the challenge frame, and nothing after it. */
const CHALLENGE_ONLY = {
  test(received: string): boolean {
    const bytes = Buffer.from(received, "latin1");
    if (bytes.length < 5 || bytes[0] !== HandshakeFrame.challenge) return false;
    const payload = bytes.subarray(5).toString("utf8");
    return bytes.readUInt32BE(1) === bytes.length - 5 && /^\{"v":\d+,"nonce":"[0-9a-f]{32}"\}$/.test(payload);
  },
};

describe("the master's handshake", () => {
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

  it("drops garbage, early messages and overlong frames, and keeps serving", async () => {
    // A few bytes short of a frame's header wait for the handshake timeout: it is short here.
    const m = await master({ expectedNodes: ["n1"], handshakeTimeoutMs: 300 });
    const oversized = Buffer.from([HandshakeFrame.hello, 0, 0x10, 0, 0]);
    const garbage = [
      "hello\n",
      "{}\n",
      '{"type":"ready"}\n',
      "x".repeat(70 * 1024),
      encodeMessage({ type: "ready" }),
      encodeFrame(HandshakeFrame.hello as FrameType, Buffer.from("{}")),
      oversized,
    ];
    for (const bytes of garbage) {
      const client = rawClient(m.port);
      client.socket.write(bytes);
      expect(CHALLENGE_ONLY.test(await client.closed)).toBe(true);
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

  it("drops a connection that sends no hello within the handshake timeout", async () => {
    const timers = manualTimers();
    const events: MasterEvent[] = [];
    const summaries: string[] = [];
    const m = await master({
      expectedNodes: ["n1"],
      deadlineMs: 60_000,
      timers,
      onEvent: (e) => events.push(e),
      onRefusals: (line) => summaries.push(line),
    });
    const client = rawClient(m.port);
    let closed = false;
    void client.closed.then(() => {
      closed = true;
    });
    await waitUntil(() => CHALLENGE_ONLY.test(client.received()), 2000);
    timers.advance(4999);
    await settleIo();
    expect(closed).toBe(false);
    timers.advance(1);
    await client.closed;
    expect(events).toContainEqual({
      type: "connection-dropped",
      remote: expect.any(String),
      reason: "no valid hello in time",
      kind: "timed out",
    });
    // Said in one summary line a second later, however many there were.
    expect(summaries).toEqual([]);
    timers.advance(1000);
    expect(summaries).toEqual([
      "refused 1 connection that did not authenticate in 1.0 s (1 timed out); most from 127.0.0.1 (1)",
    ]);
  });
});
