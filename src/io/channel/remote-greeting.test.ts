import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AGENT_PROTOCOL_VERSION } from "../../core/agent/index.js";
import { encodeFrame, FrameType } from "../../core/channel/index.js";
import { UserError } from "../../core/common/index.js";
import { waitForGreeting } from "./remote-greeting.js";

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function serve(onConnection: (socket: Socket) => void, port = 0): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      socket.on("error", () => {});
      onConnection(socket);
    });
    servers.push(server);
    server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

async function freePort(): Promise<number> {
  const port = await serve(() => {});
  await new Promise((r) => servers.pop()?.close(r));
  return port;
}

describe('waitForGreeting("sshd")', () => {
  it("returns once a banner arrives, even after other lines", async () => {
    const port = await serve((s) => s.write("hello\r\nSSH-2.0-OpenSSH_9.2\r\n"));
    expect(await waitForGreeting("sshd", "127.0.0.1", port, 2000)).toBeLessThan(1000);
  });

  it("keeps trying until sshd starts listening", async () => {
    const port = await freePort();
    setTimeout(() => void serve((s) => s.end("SSH-2.0-late\r\n"), port), 150);
    expect(await waitForGreeting("sshd", "127.0.0.1", port, 3000, { retryDelayMs: 20 })).toBeGreaterThanOrEqual(100);
  });

  it("does not take an open port that never sends a banner for sshd", async () => {
    const port = await serve((s) => s.end("HTTP/1.1 400 Bad Request\r\n"));
    const error = await waitForGreeting("sshd", "127.0.0.1", port, 300, { retryDelayMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      code: "sshd-not-ready",
      message: expect.stringMatching(new RegExp(`^sshd at 127\\.0\\.0\\.1:${port} did not answer within 0\\.\\d s`)),
    });
  });

  it("gives up on a silent port within the deadline", async () => {
    const port = await serve(() => {});
    const started = Date.now();
    await expect(waitForGreeting("sshd", "127.0.0.1", port, 300, { attemptTimeoutMs: 100 })).rejects.toThrow(
      /last: connected, but no banner came\)$/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('waitForGreeting("agent")', () => {
  const challenge = encodeFrame(
    FrameType.challenge,
    Buffer.from(JSON.stringify({ v: AGENT_PROTOCOL_VERSION, nonce: "a".repeat(32) })),
  );

  it("returns once the agent's challenge frame arrives, even split in pieces", async () => {
    const port = await serve((s) => {
      s.write(challenge.subarray(0, 3));
      setTimeout(() => s.write(challenge.subarray(3)), 30);
    });
    expect(await waitForGreeting("agent", "127.0.0.1", port, 2000)).toBeLessThan(1000);
  });

  it("does not take an sshd for the agent, and names the agent", async () => {
    const port = await serve((s) => s.write("SSH-2.0-OpenSSH_9.2\r\n"));
    await expect(waitForGreeting("agent", "127.0.0.1", port, 300, { retryDelayMs: 20 })).rejects.toMatchObject({
      code: "agent-not-ready",
      message: expect.stringMatching(
        /^srun-docker's agent at 127\.0\.0\.1:\d+ did not answer .*not srun-docker's agent/,
      ),
    });
  });
});
