// Each protocol's server against a hostile client on its port, over real sockets: the same
// attacks on the rendezvous master, the agent, the image relay and the Slurm relay (on its
// unix socket). A peer without the job
// step's key, or with a hello bound to another handshake, port or job step, or with garbage
// or an oversized frame, hears the challenge and at most a reject, never a welcome, and what
// the server guards (a node's place, a spawn, an image) is untouched. The first row, an
// honest client, shows that each attack fails for its flaw and not for the harness.
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { Readable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import { AGENT_PROTOCOL_VERSION, encodeControl } from "../../core/agent/index.js";
import {
  type ChannelProtocol,
  createFrameDecoder,
  encodeFrame,
  FrameType,
  HandshakeFrame,
  transcript,
} from "../../core/channel/index.js";
import { RELAY_PROTOCOL_VERSION } from "../../core/relay/index.js";
import { encodeMessage, PROTOCOL_VERSION } from "../../core/rendezvous/index.js";
import { encodeSlurmRequest, SLURM_COMMAND_FRAME, SLURM_RELAY_PROTOCOL_VERSION } from "../../core/slurm-relay/index.js";
import * as agent from "../agent/agent-harness.test-support.js";
import { startRelayServer } from "../relay/index.js";
import * as rendezvous from "../rendezvous/rendezvous-harness.test-support.js";
import * as slurm from "../slurm-relay/slurm-relay-harness.test-support.js";
import { channelKey } from "./key.js";

interface Target {
  /** The port the handshake names; 0 for a unix socket, which `path` names. */
  port: number;
  path?: string;
  secret: Buffer;
  jobKey: string;
  version: number;
  /** The node an honest hello names, and the protocol's facts in it. */
  node: string;
  about?: Record<string, unknown>;
  /** What the client asks for right behind its hello: a join's ready, an exec. */
  request?: Buffer;
  /** How often the server let a client in: a worker joined, a command spawned, an image served. */
  admitted(): number;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  rendezvous.runCleanups();
  await agent.runCleanups();
  await slurm.closeHarnesses();
});

const TARGETS: Record<ChannelProtocol, () => Promise<Target>> = {
  async rendezvous() {
    let joined = 0;
    const m = await rendezvous.master({
      onEvent: (e) => {
        if (e.type === "worker-authenticated") joined++;
      },
    });
    const { secret, jobKey } = rendezvous;
    const request = encodeMessage({ type: "ready" });
    return {
      port: m.port,
      secret,
      jobKey,
      version: PROTOCOL_VERSION,
      node: "n1",
      about: { rank: 1 },
      request,
      admitted: () => joined,
    };
  },
  async agent() {
    const { server, spawns } = await agent.startServer();
    const { secret, jobKey } = agent;
    const request = encodeFrame(FrameType.exec, encodeControl(FrameType.exec, { command: "true", pty: false }));
    return {
      port: server.port,
      secret,
      jobKey,
      version: AGENT_PROTOCOL_VERSION,
      node: "node1",
      request,
      admitted: spawns,
    };
  },
  async relay() {
    const secret = randomBytes(32);
    let served = 0;
    const relay = await startRelayServer({
      candidates: [0],
      host: "127.0.0.1",
      secret,
      jobKey: "7.0",
      transfer: { save: () => Readable.from([Buffer.from("an image")]) },
      handshakeTimeoutMs: 1000,
      onEvent: (e) => {
        if (e.type === "served") served++;
      },
    });
    relay.offer({ id: `sha256:${"e".repeat(64)}` });
    cleanups.push(() => relay.close());
    return {
      port: relay.port,
      secret,
      jobKey: "7.0",
      version: RELAY_PROTOCOL_VERSION,
      node: "node2",
      admitted: () => served,
    };
  },
  async slurm() {
    const harness = await slurm.startHarness();
    const command = { program: "scontrol", args: ["ping"], cwd: "/", env: {} } as const;
    return {
      port: 0,
      path: harness.relay.socketPath,
      secret: harness.secret,
      jobKey: slurm.jobKey,
      version: SLURM_RELAY_PROTOCOL_VERSION,
      node: slurm.node,
      request: encodeFrame(SLURM_COMMAND_FRAME, encodeSlurmRequest({ ...command, args: [...command.args] })),
      admitted: () => harness.runs().length,
    };
  },
};

async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 3000) throw new Error("not admitted in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Heard {
  frames: number[];
  closed: boolean;
}

/** Connects, answers the challenge with `answer(serverNonce)`, and reports what the server said until it closed or welcomed. */
function attack(target: Target, answer: (serverNonce: string) => Buffer | undefined): Promise<Heard> {
  return new Promise((resolve) => {
    const socket: Socket =
      target.path === undefined ? connect({ port: target.port, host: "127.0.0.1" }) : connect({ path: target.path });
    cleanups.push(() => socket.destroy());
    const heard: Heard = { frames: [], closed: false };
    const decoder = createFrameDecoder(() => 1024 * 1024);
    const done = () => {
      clearTimeout(timer);
      resolve(heard);
    };
    const timer = setTimeout(done, 3000);
    socket.on("error", () => {});
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let step = decoder.next(); step?.kind === "frame"; step = decoder.next()) {
        heard.frames.push(step.frame.type);
        if (step.frame.type === HandshakeFrame.challenge) {
          const { nonce } = JSON.parse(step.frame.payload.toString()) as { nonce: string };
          const reply = answer(nonce);
          if (reply !== undefined) socket.write(reply);
        }
        // What an admitted client hears next is the protocol's business, not the handshake's.
        if (step.frame.type === HandshakeFrame.welcome) return done();
      }
    });
    socket.on("close", () => {
      heard.closed = true;
      done();
    });
  });
}

interface Forgery {
  secret?: Buffer;
  port?: number;
  jobKey?: string;
  /** The server nonce the MAC is bound to, instead of this connection's. */
  serverNonce?: string;
  clientNonce?: string;
}

/** A hello frame as a client computes it, with whatever it gets wrong. */
function helloFrame(protocol: ChannelProtocol, target: Target, serverNonce: string, wrong: Forgery = {}): Buffer {
  const nonces = {
    server: wrong.serverNonce ?? serverNonce,
    client: wrong.clientNonce ?? randomBytes(16).toString("hex"),
  };
  const binding = {
    protocol,
    version: target.version,
    jobKey: wrong.jobKey ?? target.jobKey,
    port: wrong.port ?? target.port,
  };
  const mac = channelKey(wrong.secret ?? target.secret).sign(transcript("client", binding, target.node, nonces));
  const hello = {
    node: target.node,
    nonce: nonces.client,
    mac,
    ...(target.about === undefined ? {} : { about: target.about }),
  };
  const frame = encodeFrame(HandshakeFrame.hello as FrameType, Buffer.from(JSON.stringify(hello)));
  return target.request === undefined ? frame : Buffer.concat([frame, target.request]);
}

const { challenge: C, welcome: W, reject: R } = HandshakeFrame;

describe.each(Object.keys(TARGETS) as ChannelProtocol[])("a hostile client of the %s", (protocol) => {
  test("an honest client is welcomed (so the rows below fail for their flaw)", async () => {
    const target = await TARGETS[protocol]();
    const heard = await attack(target, (nonce) => helloFrame(protocol, target, nonce));
    expect(heard.frames).toEqual([C, W]);
    await until(() => target.admitted() === 1);
  });

  test.each<[string, (target: Target) => Forgery, number[]]>([
    ["another job's key", () => ({ secret: randomBytes(32) }), [C, R]],
    ["a hello bound to another port (a squatter relaying it)", (t) => ({ port: t.port + 1 }), [C, R]],
    ["a hello bound to another job step", (t) => ({ jobKey: `${t.jobKey}1` }), [C, R]],
    ["a hello bound to another handshake's server nonce", () => ({ serverNonce: "e".repeat(32) }), [C, R]],
  ])("%s is refused", async (_name, forge, said) => {
    const target = await TARGETS[protocol]();
    const before = target.admitted();
    const heard = await attack(target, (nonce) => helloFrame(protocol, target, nonce, forge(target)));
    expect(heard).toEqual({ frames: said, closed: true });
    expect(target.admitted()).toBe(before);
  });

  test("a hello recorded from an honest handshake and replayed on a new connection is refused", async () => {
    const target = await TARGETS[protocol]();
    let recorded: Buffer | undefined;
    const honest = await attack(target, (nonce) => {
      recorded = helloFrame(protocol, target, nonce);
      return recorded;
    });
    expect(honest.frames).toEqual([C, W]);
    await until(() => target.admitted() === 1);
    const replayed = await attack(target, () => recorded);
    expect(replayed).toEqual({ frames: [C, R], closed: true });
    expect(target.admitted()).toBe(1);
  });

  test.each<[string, Buffer]>([
    ["garbage", randomBytes(8192)],
    ["an oversized hello", Buffer.from([HandshakeFrame.hello, 0, 0x10, 0, 0])],
    ["a hello that is not JSON", encodeFrame(HandshakeFrame.hello as FrameType, Buffer.from("{not json"))],
    [
      "a welcome of its own",
      encodeFrame(HandshakeFrame.welcome as FrameType, Buffer.from(`{"mac":"${"0".repeat(64)}"}`)),
    ],
    ["a protocol message before any hello", encodeFrame(0x40 as FrameType, Buffer.from('{"type":"ready"}'))],
  ])("%s ends the connection with nothing said but the challenge", async (_name, bytes) => {
    const target = await TARGETS[protocol]();
    const heard = await attack(target, () => bytes);
    expect(heard).toEqual({ frames: [C], closed: true });
    expect(target.admitted()).toBe(0);
  });
});
