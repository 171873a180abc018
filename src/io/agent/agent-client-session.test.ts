// The client against fake servers on 127.0.0.1: impostors, silence, junk and lost connections
// all end in 255 with one line naming the node, and an impostor never learns the command.
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, expect, test } from "vitest";
import { AGENT_PROTOCOL_VERSION, encodeControl } from "../../core/agent/index.js";
import { createFrameDecoder, encodeFrame, type Frame, FrameType } from "../../core/channel/index.js";
import { createNonce } from "../channel/index.js";
import { computeMac } from "../channel/mac.test-support.js";
import type { AgentClientOptions } from "./agent-client.js";
import { jobKey, runCleanups, runClient, secret, user } from "./agent-harness.test-support.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) server.close();
  await runCleanups();
});

/** A server that runs `behave` on each connection and records every frame it receives. */
async function fakeServer(behave: (socket: Socket, frames: Frame[]) => void) {
  const received: Frame[] = [];
  const server = createServer((socket) => {
    const decoder = createFrameDecoder(() => 1024 * 1024);
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let step = decoder.next(); step?.kind === "frame"; step = decoder.next()) received.push(step.frame);
    });
    socket.on("error", () => {});
    behave(socket, received);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const options: AgentClientOptions = {
    nodes: [{ name: "node1", address: "127.0.0.1" }],
    ports: [port],
    secret,
    user,
    jobKey,
    env: {},
    signals: { on: () => undefined, off: () => undefined },
    timeoutMs: 300,
  };
  return { options, received, port };
}

const control = (type: FrameType, message: unknown) =>
  encodeFrame(type, encodeControl(type as never, message as never));

test("silence: 255 at the timeout, naming the node and where", async () => {
  const { options, port } = await fakeServer(() => {});
  const run = await runClient(options, ["node1", "true"]);
  expect(run).toEqual({
    code: 255,
    stdout: Buffer.alloc(0),
    stderr: `srun-docker ssh: node1: no answer from its agent at 127.0.0.1:${port} within 0.3 s\n`,
  });
});

test("junk instead of a challenge (another program on the port): 255", async () => {
  const { options } = await fakeServer((socket) => socket.write("SSH-2.0-OpenSSH_9.2\r\n"));
  const run = await runClient(options, ["node1", "true"]);
  expect(run.code).toBe(255);
  expect(run.stderr).toMatch(/^srun-docker ssh: node1: the program on its agent port sent something malformed/);
});

test("another protocol version: 255 saying so", async () => {
  const { options } = await fakeServer((socket) =>
    socket.write(control(FrameType.challenge, { v: 9, nonce: createNonce() })),
  );
  const run = await runClient(options, ["node1", "true"]);
  expect(run.stderr).toBe(
    `srun-docker ssh: node1: its agent speaks protocol 9, this one ${AGENT_PROTOCOL_VERSION} (use one srun-docker version on every node)\n`,
  );
});

test("an impostor without the secret: 255, and it never receives the command", async () => {
  const { options, received } = await fakeServer((socket) => {
    socket.write(control(FrameType.challenge, { v: AGENT_PROTOCOL_VERSION, nonce: createNonce() }));
    socket.once("data", () => socket.write(control(FrameType.welcome, { mac: "f".repeat(64) })));
  });
  const run = await runClient(options, ["node1", "echo secret-command"], "secret input");
  expect(run.stderr).toBe(
    "srun-docker ssh: node1: the program on its agent port failed authentication (not this job's agent)\n",
  );
  expect(received.map((frame) => frame.type)).toEqual([FrameType.hello]);
});

test("a connection lost mid-command: 255 saying so", async () => {
  const { options } = await fakeServer((socket) => {
    const serverNonce = createNonce();
    socket.write(control(FrameType.challenge, { v: AGENT_PROTOCOL_VERSION, nonce: serverNonce }));
    socket.once("data", (chunk: Buffer) => {
      const hello = JSON.parse(chunk.subarray(5).toString()) as { nonce: string };
      const input = {
        jobKey,
        masterNonce: serverNonce,
        workerNonce: hello.nonce,
        node: "node1",
        port: socket.localPort ?? 0,
      };
      socket.write(control(FrameType.welcome, { mac: computeMac(secret, "agent-server", input) }));
      socket.write(encodeFrame(FrameType.stdout, Buffer.from("partial ")));
      setTimeout(() => socket.destroy(), 50);
    });
  });
  const run = await runClient(options, ["node1", "true"]);
  expect(run.code).toBe(255);
  expect(run.stdout.toString()).toBe("partial ");
  expect(run.stderr).toMatch(/^srun-docker ssh: node1: the connection was lost before the command ended/);
});

test("a command longer than one exec frame allows: 255 before connecting", async () => {
  const { options, received } = await fakeServer(() => {});
  const run = await runClient(options, ["node1", "x".repeat(300 * 1024)]);
  expect(run.code).toBe(255);
  expect(run.stderr).toMatch(/^srun-docker ssh: node1: the command is too long/);
  expect(received).toEqual([]);
});

test("a host that is not a node goes elsewhere; a wrong user is refused with 255", async () => {
  const { options } = await fakeServer(() => {});
  const elsewhere: string[][] = [];
  const withElsewhere = {
    ...options,
    runElsewhere: async (argv: readonly string[]) => {
      elsewhere.push([...argv]);
      return 3;
    },
  };
  expect((await runClient(withElsewhere, ["-p", "22", "git@github.com", "git-upload-pack"])).code).toBe(3);
  expect(elsewhere).toEqual([["-p", "22", "git@github.com", "git-upload-pack"]]);
  const refused = await runClient(withElsewhere, ["root@node1", "id"]);
  expect(refused).toEqual({
    code: 255,
    stdout: Buffer.alloc(0),
    stderr: `srun-docker ssh: node1 is a node of this job and runs as ${user}, not as root\n`,
  });
});
