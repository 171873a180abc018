// The agent on the first of the job's ports it can bind, and the client that finds it there:
// real sockets on 127.0.0.1, with other programs on the earlier ports. One answers as an agent
// would but cannot prove it, one says nothing, one relays the handshake to the real agent.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { AGENT_PROTOCOL_VERSION, encodeControl } from "../../core/agent/index.js";
import { encodeFrame, FrameType } from "../../core/channel/index.js";
import { UserError } from "../../core/common/index.js";
import { createNonce } from "../channel/index.js";
import { runCleanups, runClient, startServer } from "./agent-harness.test-support.js";

const others: Server[] = [];
afterEach(async () => {
  for (const server of others.splice(0)) server.close();
  await runCleanups();
});

/** Another user's program on a port of this host: `behave` runs on each connection it accepts. */
async function another(behave: (socket: Socket) => void = () => {}): Promise<{ port: number; accepted: () => number }> {
  let count = 0;
  const server = createServer((socket) => {
    count++;
    socket.on("error", () => {});
    behave(socket);
  });
  others.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, accepted: () => count };
}

async function freePort(): Promise<number> {
  const { port } = await another();
  await new Promise((resolve) => others.pop()?.close(resolve));
  return port;
}

const control = (type: FrameType, message: unknown) =>
  encodeFrame(type, encodeControl(type as never, message as never));

/** Sends a challenge, then to the hello a welcome it cannot make right; counts what it was sent. */
function impostor(frames: Buffer[]) {
  return (socket: Socket) => {
    socket.write(control(FrameType.challenge, { v: AGENT_PROTOCOL_VERSION, nonce: createNonce() }));
    socket.on("data", (chunk: Buffer) => {
      frames.push(chunk);
      socket.write(control(FrameType.welcome, { mac: "f".repeat(64) }));
    });
  };
}

describe("the agent server", () => {
  test("listens on the first of its ports it can bind, the ones before held by other programs", async () => {
    const taken = [await another(), await another()];
    const free = await freePort();
    const { server } = await startServer({ ports: [taken[0]?.port ?? 0, taken[1]?.port ?? 0, free] });
    expect(server.port).toBe(free);
  });

  test("every port taken: one error naming them all", async () => {
    const taken = [await another(), await another()].map((t) => t.port);
    const error = await startServer({ ports: taken }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ message: `all 2 agent port candidates (${taken.join(", ")}) are in use` });
  });
});

describe("the client, trying the job's ports in order", () => {
  test("skips an impostor, a silent program and a refused port, and runs its command on the agent; the impostor never sees the command", async () => {
    const said: Buffer[] = [];
    const fake = await another(impostor(said));
    const silent = await another();
    const refused = await freePort();
    const { server, options, spawns } = await startServer({ ports: [0] });
    const ports = [fake.port, silent.port, refused, server.port];
    const run = await runClient(
      { ...options, ports, candidateTimeoutMs: 300 },
      ["node1", "echo on-the-agent"],
      "input",
    );
    expect(run).toEqual({ code: 0, stdout: Buffer.from("on-the-agent\n"), stderr: "" });
    expect([fake.accepted(), silent.accepted()]).toEqual([1, 1]);
    // The impostor got a hello (bound to its own port) and nothing after it.
    expect(Buffer.concat(said).includes("on-the-agent")).toBe(false);
    expect(Buffer.concat(said).includes("input")).toBe(false);
    expect(spawns()).toBe(1);
  });

  test("a program that relays the handshake to the real agent gets the hello refused there (it names the port it reached)", async () => {
    const { server, options, spawns, logs } = await startServer({ ports: [0] });
    let relayed = 0;
    const relay = await another((socket) => {
      relayed++;
      const agent = connect({ port: server.port, host: "127.0.0.1" });
      agent.on("error", () => socket.destroy());
      socket.pipe(agent).pipe(socket);
    });
    const run = await runClient({ ...options, ports: [relay.port, server.port] }, ["node1", "echo once"]);
    expect(run).toEqual({ code: 0, stdout: Buffer.from("once\n"), stderr: "" });
    expect(relayed).toBe(1);
    // The relayed hello was refused by the agent: the command ran once, on the direct connection.
    expect(spawns()).toBe(1);
    await server.close(); // which says the refusals it counted (io/channel/refusal-log.ts)
    expect(logs).toEqual([expect.stringMatching(/refused 1 connection that did not authenticate in .*1 rejected/)]);
  });

  test("an agent that binds its port only after the first tries: the command runs", async () => {
    const { options } = await startServer({ ports: [0] });
    const [first, second] = [await freePort(), await freePort()];
    const running = runClient({ ...options, ports: [first, second] }, ["node1", "echo late"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await startServer({ ports: [second] });
    expect(await running).toEqual({ code: 0, stdout: Buffer.from("late\n"), stderr: "" });
  });

  test("a port that answered is asked once: an agent that refuses us is not asked again while the others refuse", async () => {
    const { server, options, logs } = await startServer({ ports: [0] });
    const refused = await freePort();
    const run = await runClient({ ...options, jobKey: "4242.9", ports: [server.port, refused], timeoutMs: 800 }, [
      "node1",
      "true",
    ]);
    expect(run.code).toBe(255);
    await server.close(); // which says the refusals it counted (io/channel/refusal-log.ts)
    expect(logs).toEqual([expect.stringMatching(/refused 1 connection that did not authenticate in .*1 rejected/)]);
  });

  test("no agent on any port: 255 with one line saying what each port did", async () => {
    const fake = await another(impostor([]));
    const refused = await freePort();
    const { options } = await startServer({ ports: [0] });
    const run = await runClient({ ...options, ports: [fake.port, refused], timeoutMs: 600 }, ["node1", "true"]);
    expect(run.code).toBe(255);
    expect(run.stderr).toBe(
      `srun-docker ssh: node1: no agent of this job answered at 127.0.0.1 (port ${fake.port}: the program on its agent port failed authentication (not this job's agent); 1 other port(s) refused the connection)\n`,
    );
  });
});
