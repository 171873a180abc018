// A MAC as a peer of the channel computes it, for tests that play a peer by hand (a hostile one
// included): `role` names the protocol and its side as the protocols call them.
import { type ChannelProtocol, type ChannelSide, transcript } from "../../core/channel/index.js";
import { channelKey } from "./key.js";

export type MacRole = "worker" | "master" | "agent-client" | "agent-server" | "relay-client" | "relay-server";

const ROLES: Record<MacRole, [ChannelProtocol, ChannelSide]> = {
  worker: ["rendezvous", "client"],
  master: ["rendezvous", "server"],
  "agent-client": ["agent", "client"],
  "agent-server": ["agent", "server"],
  "relay-client": ["relay", "client"],
  "relay-server": ["relay", "server"],
};

export interface MacInput {
  jobKey: string;
  /** The server's nonce (the challenge's). */
  masterNonce: string;
  /** The client's nonce (the hello's). */
  workerNonce: string;
  node: string;
  port?: number;
}

export function computeMac(secret: Buffer, role: MacRole, input: MacInput): string {
  const [protocol, side] = ROLES[role];
  const binding = { protocol, version: 0, jobKey: input.jobKey, port: input.port ?? 0 };
  const nonces = { server: input.masterNonce, client: input.workerNonce };
  return channelKey(secret).sign(transcript(side, binding, input.node, nonces));
}
