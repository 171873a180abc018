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
 * relay (`--pull-once`) their client and server. The role leads the MAC's input, so a MAC made
 * for one role (or one protocol) never passes as another's: the job's one secret serves every
 * protocol without one becoming an oracle for another.
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
 * A job step's own secret: every handshake of the step (rendezvous, agent, relay) is keyed with
 * it, and its containers get it instead of the user's secret (io/job-keys.ts derives the rest
 * of the step's keys from it). An HMAC is one-way, so a container learns nothing about the
 * user's secret, hence nothing about another job's, and its own MACs pass in no other step.
 */
export function deriveJobSecret(userSecret: Buffer, jobKey: string): Buffer {
  return createHmac("sha256", userSecret).update(`job|${jobKey}`, "utf8").digest();
}

/**
 * The seed of a job step's fallback ports (core/port-candidates.ts): every node of the job holds
 * the job's secret and derives the same, another user cannot, so cannot take the fallbacks in
 * advance. From the job's secret rather than the user's, so that the job's containers can too.
 */
export function derivePortSeed(jobSecret: Buffer, jobKey: string): string {
  return createHmac("sha256", jobSecret).update(`ports|${jobKey}`, "utf8").digest("hex").slice(0, 16);
}
