// Another user floods the agent's port with connections that never authenticate: the agent
// holds a bounded number of them, a command already running is not touched, and a new one runs.
import { afterEach, expect, test } from "vitest";
import { AGENT_HANDSHAKE_LIMIT } from "../../core/channel/index.js";
import { flood } from "../channel/flood.test-support.js";
import { runCleanups, runClient, startServer, waitFor } from "./agent-harness.test-support.js";

afterEach(runCleanups);

test("500 junk connections held open: the agent keeps at most its bound, and commands still run", async () => {
  const { server, options, logs } = await startServer({ handshakeTimeoutMs: 20_000 });
  const running = runClient(options, ["node1", "sleep 0.3; echo still here"]);
  await waitFor(() => server.connectionCount() === 1);
  const junk = await flood(server.port, 500);
  try {
    expect(await waitFor(() => junk.open() <= AGENT_HANDSHAKE_LIMIT)).toBe(true);
    // Counted, not logged one by one: a line 1 s after the first refusal says how many.
    expect(await waitFor(() => logs.length > 0)).toBe(true);
    expect(logs).toHaveLength(1);
    const crowded = Number(/\((\d+) crowded out\); most from 127\.0\.0\.1 \(\d+\)$/.exec(logs[0] ?? "")?.[1]);
    expect(crowded, logs[0]).toBeGreaterThanOrEqual(500 - AGENT_HANDSHAKE_LIMIT);
    const started = Date.now();
    const fresh = await runClient(options, ["node1", "echo hi"]);
    expect(fresh).toMatchObject({ code: 0, stderr: "" });
    expect(fresh.stdout.toString()).toBe("hi\n");
    expect(Date.now() - started).toBeLessThan(2000);
    const first = await running;
    expect(first).toMatchObject({ code: 0, stderr: "" });
    expect(first.stdout.toString()).toBe("still here\n");
  } finally {
    junk.stop();
  }
});
