/**
 * The job step's keys: the channel's MAC and its constant-time check (core/channel/ holds the
 * handshake that uses them), the nonces, the step's own secret and its port draw. Here rather
 * than in core because they need node:crypto.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ChannelKey } from "../../core/channel/index.js";
import type { PortDraw } from "../../core/ports/index.js";

export function createNonce(): string {
  return randomBytes(16).toString("hex");
}

/** HMAC-SHA256 of a transcript (core/channel/handshake.ts) with the job step's secret. */
export function channelKey(secret: Buffer): ChannelKey {
  const sign = (transcript: string): string => createHmac("sha256", secret).update(transcript, "utf8").digest("hex");
  return {
    sign,
    // Constant time, so the answer's timing says nothing about the expected MAC.
    verify(transcript, mac) {
      const expected = Buffer.from(sign(transcript), "hex");
      const got = Buffer.from(mac, "hex");
      return got.length === expected.length && timingSafeEqual(got, expected);
    },
  };
}

/**
 * A job step's own secret: every handshake of the step (rendezvous, agent, relay) is keyed with
 * it, and its containers get it instead of the user's secret (io/files/job-keys.ts derives the rest
 * of the step's keys from it). An HMAC is one-way, so a container learns nothing about the
 * user's secret, hence nothing about another job's, and its own MACs pass in no other step.
 */
export function deriveJobSecret(userSecret: Buffer, jobKey: string): Buffer {
  return createHmac("sha256", userSecret).update(`job|${jobKey}`, "utf8").digest();
}

/**
 * A job step's port draw (core/ports/port-candidates.ts): each number is an HMAC of the job step's
 * secret and the label, so every node of the job draws the same and another user, who lacks
 * the secret, can predict none of them, nor learn one from another that he sees in use. From
 * the job's secret rather than the user's, so that the job's containers could too.
 */
export function createPortDraw(jobSecret: Buffer, jobKey: string): PortDraw {
  return (label) => createHmac("sha256", jobSecret).update(`ports|${jobKey}|${label}`, "utf8").digest().readUInt32BE(0);
}
