/**
 * The keys of one job step, derived from the user's secret (`~/.srun-docker/secret`): the
 * step's own secret, which keys every handshake of the step, and from it the sshd host key and
 * the client key of `--remote=sshd`. Every node derives the same keys alone, so nothing is
 * generated, shared or raced for; and a job's containers get these keys, never the user's
 * secret, so what a container holds opens nothing beyond its own job step.
 */
import { createHmac, createPrivateKey, createPublicKey } from "node:crypto";
import type { JobKeys } from "../../core/plan/index.js";
import { renderOpenSshEd25519, type SshKeyPair } from "../../core/ssh/index.js";
import { deriveJobSecret } from "../channel/index.js";

/** DER of PKCS#8 for an Ed25519 private key, up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export function deriveJobKeys(userSecret: Buffer, jobKey: string, user: string): JobKeys {
  const secret = deriveJobSecret(userSecret, jobKey);
  return {
    secret,
    sshHost: deriveSshKeyPair(secret, "ssh-host", `srun-docker host ${user} ${jobKey}`),
    sshClient: deriveSshKeyPair(secret, "ssh-client", `srun-docker client ${user} ${jobKey}`),
  };
}

function deriveSshKeyPair(jobSecret: Buffer, purpose: string, comment: string): SshKeyPair {
  const seed = createHmac("sha256", jobSecret).update(purpose, "utf8").digest();
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  // An Ed25519 SPKI ends with the 32-byte public point.
  const publicKey = createPublicKey(privateKey).export({ format: "der", type: "spki" }).subarray(-32);
  return renderOpenSshEd25519(seed, publicKey, comment);
}
