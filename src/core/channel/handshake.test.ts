// The handshake of every protocol, one table: each row plays one side against inputs a peer
// (honest or hostile) could send, and says where that side ends and what it sent.
import { createHmac, timingSafeEqual } from "node:crypto";
import { describe, expect, test } from "vitest";
import { type ClientHandshake, serverHandshakeLimit, startClient, stepClient } from "./client.js";
import {
  type ChannelBinding,
  type ChannelKey,
  HandshakeFrame,
  type HandshakeInput,
  MAX_HANDSHAKE_BYTES,
  type Outgoing,
  parseHandshake,
  transcript,
} from "./handshake.js";
import { type Admission, clientHandshakeLimit, type ServerHandshake, startServer, stepServer } from "./server.js";

const keyOf = (secret: string): ChannelKey => {
  const sign = (text: string) => createHmac("sha256", secret).update(text).digest("hex");
  return {
    sign,
    verify: (text, mac) => {
      const a = Buffer.from(sign(text), "hex");
      const b = Buffer.from(mac, "hex");
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
};
const KEY = keyOf("the job step's secret");
const OTHER_KEY = keyOf("another job's secret");
const BINDING: ChannelBinding = { protocol: "agent", version: 4, jobKey: "12.0", port: 40_000 };
const SERVER_NONCE = "a".repeat(32);
const CLIENT_NONCE = "b".repeat(32);
const NONCES = { server: SERVER_NONCE, client: CLIENT_NONCE };

const frame = (type: number, message: unknown): HandshakeInput => ({
  type: "frame",
  frameType: type,
  payload: JSON.stringify(message),
});
/** The hello a client with `key` sends, bound to `binding`, for the server's nonce `server`. */
const hello = (key = KEY, binding = BINDING, nonces = NONCES, node = "node1") =>
  frame(HandshakeFrame.hello, {
    node,
    nonce: nonces.client,
    mac: key.sign(transcript("client", binding, node, nonces)),
  });
const welcome = (key = KEY, binding = BINDING, nonces = NONCES, about?: Record<string, unknown>) =>
  frame(HandshakeFrame.welcome, {
    mac: key.sign(transcript("server", binding, "node1", nonces)),
    ...(about === undefined ? {} : { about }),
  });
const challenge = (v = BINDING.version, nonce = SERVER_NONCE) => frame(HandshakeFrame.challenge, { v, nonce });

const admitNode1 = (peer: { node: string }): Admission =>
  peer.node === "node1" ? { welcome: undefined } : { refuse: `asked for ${peer.node}`, tell: `not ${peer.node}` };

function runServer(inputs: HandshakeInput[]): { state: ServerHandshake; sent: Outgoing[] } {
  const ctx = { key: KEY, binding: BINDING, admit: admitNode1 };
  const start = startServer(BINDING, SERVER_NONCE);
  const sent: Outgoing[] = start.send === undefined ? [] : [start.send];
  let state = start.state;
  for (const input of inputs) {
    const step = stepServer(state, input, ctx);
    state = step.state;
    if (step.send !== undefined) sent.push(step.send);
  }
  return { state, sent };
}

function runClient(inputs: HandshakeInput[], binding = BINDING): { state: ClientHandshake; sent: Outgoing[] } {
  const ctx = { key: KEY, binding, node: "node1", about: { rank: 1 } };
  let state = startClient(CLIENT_NONCE);
  const sent: Outgoing[] = [];
  for (const input of inputs) {
    const step = stepClient(state, input, ctx);
    state = step.state;
    if (step.send !== undefined) sent.push(step.send);
  }
  return { state, sent };
}

const sentTypes = (sent: Outgoing[]) => sent.map((s) => s.type);
const { challenge: C, hello: H, welcome: W, reject: R } = HandshakeFrame;

describe("the server's side", () => {
  test.each<[string, HandshakeInput[], Partial<ServerHandshake>, number[]]>([
    ["an honest client", [hello()], { phase: "established" }, [C, W]],
    [
      "a client with another key",
      [hello(OTHER_KEY)],
      { phase: "refused", reason: "authentication failed (claimed node node1)", stranger: "rejected" },
      [C, R],
    ],
    [
      "a hello replayed from another handshake (another server nonce)",
      [hello(KEY, BINDING, { server: "c".repeat(32), client: CLIENT_NONCE })],
      { phase: "refused", stranger: "rejected" },
      [C, R],
    ],
    [
      "a hello bound to another port (relayed by a squatter)",
      [hello(KEY, { ...BINDING, port: 40_001 })],
      { phase: "refused", stranger: "rejected" },
      [C, R],
    ],
    [
      "a hello bound to another job step",
      [hello(KEY, { ...BINDING, jobKey: "12.1" })],
      { phase: "refused", stranger: "rejected" },
      [C, R],
    ],
    [
      "a hello made for another protocol",
      [hello(KEY, { ...BINDING, protocol: "relay" })],
      { phase: "refused", stranger: "rejected" },
      [C, R],
    ],
    [
      "a client's own welcome reflected as a hello",
      [frame(H, { node: "node1", nonce: CLIENT_NONCE, mac: KEY.sign(transcript("server", BINDING, "node1", NONCES)) })],
      { phase: "refused", stranger: "rejected" },
      [C, R],
    ],
    [
      "an authentic client the protocol does not admit: told why",
      [hello(KEY, BINDING, NONCES, "node9")],
      { phase: "refused", reason: "asked for node9", tell: "not node9" },
      [C, R],
    ],
    [
      "a malformed hello",
      [frame(H, { node: "a|b", nonce: CLIENT_NONCE, mac: "0".repeat(64) })],
      { phase: "refused", reason: "malformed handshake (bad hello)", stranger: "rejected" },
      [C],
    ],
    ["not a hello", [challenge()], { phase: "refused", stranger: "rejected" }, [C]],
    ["garbage framing", [{ type: "malformed", reason: "junk" }], { phase: "refused", stranger: "rejected" }, [C]],
    ["silence", [{ type: "timed-out" }], { phase: "refused", stranger: "timed out" }, [C]],
    ["a flood", [{ type: "crowded" }], { phase: "refused", stranger: "crowded out" }, [C]],
    ["a peer that leaves", [{ type: "closed", reason: "EOF" }], { phase: "refused", stranger: "gone" }, [C]],
    ["a second hello counts for nothing", [hello(), hello(OTHER_KEY)], { phase: "established" }, [C, W]],
  ])("%s", (_name, inputs, expected, sent) => {
    const run = runServer(inputs);
    expect(run.state).toMatchObject(expected);
    expect(sentTypes(run.sent)).toEqual(sent);
  });

  test("the welcome proves the key for this client's nonce, port and node", () => {
    const { sent } = runServer([hello()]);
    const mac = (sent[1]?.message as { mac: string } | undefined)?.mac ?? "";
    expect(KEY.verify(transcript("server", BINDING, "node1", NONCES), mac)).toBe(true);
  });

  test("takes one hello of a few KiB, nothing else", () => {
    expect(clientHandshakeLimit(H)).toBe(MAX_HANDSHAKE_BYTES);
    for (const type of [C, W, R, 0x05, 0x40]) expect(clientHandshakeLimit(type)).toBeUndefined();
  });
});

describe("the client's side", () => {
  const failure = (state: ClientHandshake) => (state.phase === "failed" ? state.failure : undefined);
  test.each<[string, HandshakeInput[], Partial<ClientHandshake>, unknown, number[]]>([
    ["an honest server", [challenge(), welcome()], { phase: "established" }, undefined, [H]],
    [
      "its facts come with the welcome",
      [challenge(), welcome(KEY, BINDING, NONCES, { masterPort: 20_002 })],
      { phase: "established", about: { masterPort: 20_002 } },
      undefined,
      [H],
    ],
    ["a server with another key", [challenge(), welcome(OTHER_KEY)], { phase: "failed" }, { kind: "forged" }, [H]],
    [
      "a welcome replayed from another handshake",
      [challenge(), welcome(KEY, BINDING, { server: SERVER_NONCE, client: "c".repeat(32) })],
      { phase: "failed" },
      { kind: "forged" },
      [H],
    ],
    [
      "a welcome for another port",
      [challenge(), welcome(KEY, { ...BINDING, port: 40_001 })],
      { phase: "failed" },
      { kind: "forged" },
      [H],
    ],
    [
      "the client's own hello reflected as a welcome",
      [challenge(), frame(W, { mac: KEY.sign(transcript("client", BINDING, "node1", NONCES)) })],
      { phase: "failed" },
      { kind: "forged" },
      [H],
    ],
    ["another version", [challenge(3)], { phase: "failed" }, { kind: "version", theirs: 3, ours: 4 }, []],
    [
      "a reject",
      [challenge(), frame(R, { reason: "busy" })],
      { phase: "failed" },
      { kind: "rejected", reason: "busy" },
      [H],
    ],
    [
      "a welcome before the challenge",
      [welcome()],
      { phase: "failed" },
      { kind: "malformed", reason: "a welcome before the challenge" },
      [],
    ],
    [
      "a second challenge",
      [challenge(), challenge()],
      { phase: "failed" },
      { kind: "malformed", reason: "a second challenge" },
      [H],
    ],
    [
      "a malformed challenge",
      [frame(C, { v: 4, nonce: "x" })],
      { phase: "failed" },
      { kind: "malformed", reason: "bad challenge" },
      [],
    ],
    [
      "garbage framing",
      [{ type: "malformed", reason: "junk" }],
      { phase: "failed" },
      { kind: "malformed", reason: "junk" },
      [],
    ],
  ])("%s", (_name, inputs, expected, why, sent) => {
    const run = runClient(inputs);
    expect(run.state).toMatchObject(expected);
    expect(failure(run.state)).toEqual(why);
    expect(sentTypes(run.sent)).toEqual(sent);
  });

  test("the hello proves the key for the server's nonce, the port reached and the node named", () => {
    const { sent } = runClient([challenge()]);
    const message = sent[0]?.message as { mac: string; node: string; nonce: string; about: unknown };
    expect(message).toMatchObject({ node: "node1", nonce: CLIENT_NONCE, about: { rank: 1 } });
    expect(KEY.verify(transcript("client", BINDING, "node1", NONCES), message.mac)).toBe(true);
  });

  test("takes the server's three handshake frames, a few KiB each, nothing else", () => {
    for (const type of [C, W, R]) expect(serverHandshakeLimit(type)).toBe(MAX_HANDSHAKE_BYTES);
    for (const type of [H, 0x12, 0x36, 0x40]) expect(serverHandshakeLimit(type)).toBeUndefined();
  });
});

describe("the handshake's messages", () => {
  const nonce = "a".repeat(32);
  const mac = "b".repeat(64);
  test.each<[string, number, unknown]>([
    ["challenge", C, { v: 1, nonce }],
    ["hello", H, { node: "node2", nonce, mac }],
    ["hello with the protocol's facts", H, { node: "node2", nonce, mac, about: { rank: 3 } }],
    ["welcome", W, { mac }],
    ["reject", R, { reason: "no" }],
  ])("a %s round-trips", (_name, type, message) => {
    expect(parseHandshake(type as typeof C, JSON.stringify(message))).toEqual(message);
  });

  test.each<[string, number, string]>([
    ["not JSON", H, "{"],
    ["a short nonce", H, JSON.stringify({ node: "n", nonce: "ab", mac })],
    ["a node name with | (would make the transcript ambiguous)", H, JSON.stringify({ node: "a|b", nonce, mac })],
    ["an extra field", W, JSON.stringify({ mac, admin: true })],
    ["a MAC of another length", W, JSON.stringify({ mac: "b".repeat(62) })],
  ])("%s is dropped", (_name, type, payload) => {
    expect(parseHandshake(type as typeof C, payload)).toBeUndefined();
  });
});
