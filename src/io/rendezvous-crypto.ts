/**
 * The handshake's randomness and MACs (see core/rendezvous-protocol.ts for the exchange, and
 * core/agent-messages.ts for the agent's, which reuses them with roles of its own).
 * Here rather than in core because they need node:crypto.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { PortDraw } from "../core/port-candidates.js";
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
 * A job step's port draw (core/port-candidates.ts): each number is an HMAC of the job step's
 * secret and the label, so every node of the job draws the same and another user, who lacks
 * the secret, can predict none of them, nor learn one from another that he sees in use. From
 * the job's secret rather than the user's, so that the job's containers could too.
 */
export function createPortDraw(jobSecret: Buffer, jobKey: string): PortDraw {
  return (label) => createHmac("sha256", jobSecret).update(`ports|${jobKey}|${label}`, "utf8").digest().readUInt32BE(0);
}
