import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../core/errors.js";
import { waitForSshBanner } from "./ssh-banner.js";

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

describe("waitForSshBanner", () => {
  it("returns once a banner arrives, even after other lines", async () => {
    const port = await serve((s) => s.write("hello\r\nSSH-2.0-OpenSSH_9.2\r\n"));
    expect(await waitForSshBanner("127.0.0.1", port, 2000)).toBeLessThan(1000);
  });

  it("keeps trying until sshd starts listening", async () => {
    const port = await freePort();
    setTimeout(() => void serve((s) => s.end("SSH-2.0-late\r\n"), port), 150);
    expect(await waitForSshBanner("127.0.0.1", port, 3000, { retryDelayMs: 20 })).toBeGreaterThanOrEqual(100);
  });

  it("does not take an open port that never sends a banner for sshd", async () => {
    const port = await serve((s) => s.end("HTTP/1.1 400 Bad Request\r\n"));
    const error = await waitForSshBanner("127.0.0.1", port, 300, { retryDelayMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      code: "sshd-not-ready",
      message: expect.stringMatching(new RegExp(`^sshd at 127\\.0\\.0\\.1:${port} did not answer within 0\\.\\d s`)),
    });
  });

  it("gives up on a silent port within the deadline", async () => {
    const port = await serve(() => {});
    const started = Date.now();
    await expect(waitForSshBanner("127.0.0.1", port, 300, { attemptTimeoutMs: 100 })).rejects.toThrow(
      /last: connected, but no banner came\)$/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
