/**
 * An Ed25519 key pair in OpenSSH's own formats: the private key file (`openssh-key-v1`, no
 * passphrase) and the public key line. Written here, not by `ssh-keygen`, because a job's keys
 * are derived from its secret (io/files/job-keys.ts): every node computes the same pair, with nothing
 * to share or race for. The format is PROTOCOL.key of OpenSSH; every OpenSSH since 6.5 reads it.
 */

/** One ssh key pair: the private key file's text and the `ssh-ed25519 AAAA... comment` line. */
export interface SshKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

const KEY_TYPE = "ssh-ed25519";
/** The private section is padded to the cipher's block size; "none" counts as 8. */
const BLOCK = 8;

/** `seed` is the 32-byte private key, `publicKey` its 32-byte public point. */
export function renderOpenSshEd25519(seed: Uint8Array, publicKey: Uint8Array, comment: string): SshKeyPair {
  if (seed.length !== 32 || publicKey.length !== 32) {
    throw new Error("internal error: an Ed25519 key is 32 bytes (please report)");
  }
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)]);
  // The check integer only tells a wrong passphrase apart; without one, any value does, and a
  // fixed one keeps the file the same on every node.
  const check = Buffer.from(publicKey.subarray(0, 4));
  const unpadded = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const padding = Buffer.from(Array.from({ length: (BLOCK - (unpadded.length % BLOCK)) % BLOCK }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, padding])),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    privateKey: ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines, "-----END OPENSSH PRIVATE KEY-----", ""].join("\n"),
    publicKey: `${KEY_TYPE} ${publicBlob.toString("base64")} ${comment}`,
  };
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

function sshString(value: string | Uint8Array): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  return Buffer.concat([uint32(bytes.length), bytes]);
}
