/**
 * The handshake's randomness and MACs (see core/rendezvous-protocol.ts for the exchange, and
 * core/agent-messages.ts for the agent's, which reuses them with roles of its own).
 * Here rather than in core because they need node:crypto.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { HandshakeInput } from "../core/rendezvous-protocol.js";

export function createNonce(): string {
  return randomBytes(16).toString("hex");
}

/**
 * Who computes a MAC. The rendezvous has worker and master; the agent transport and the image
 * relay (`--pull-once`) their client and server. The role leads the MAC's input, so a MAC made for one role (or one protocol) never
 * passes as another's: the same secret serves both protocols without one becoming an oracle
 * for the other.
 */
export type MacRole = "worker" | "master" | "agent-client" | "agent-server" | "relay-client" | "relay-server";

/** The MAC one side sends; the role prefix stops a reflected MAC from passing as the other's. */
export function computeMac(secret: Buffer, role: MacRole, input: HandshakeInput): string {
  const fields = [role, input.jobKey, input.masterNonce, input.workerNonce, input.node];
  const data = (input.port === undefined ? fields : [...fields, String(input.port)]).join("|");
  return createHmac("sha256", secret).update(data, "utf8").digest("hex");
}

/** Compares in constant time, so the answer's timing says nothing about the expected MAC. */
export function verifyMac(secret: Buffer, role: MacRole, input: HandshakeInput, received: string): boolean {
  const expected = Buffer.from(computeMac(secret, role, input), "hex");
  const got = Buffer.from(received, "hex");
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/**
 * The seed of a job step's fallback ports (core/port-candidates.ts): every node of the job holds
 * the secret and derives the same, another user cannot, so cannot take the fallbacks in advance.
 */
export function derivePortSeed(secret: Buffer, jobKey: string): string {
  return createHmac("sha256", secret).update(`ports|${jobKey}`, "utf8").digest("hex").slice(0, 16);
}
