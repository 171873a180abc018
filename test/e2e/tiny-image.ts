// A small image for the relay tests, pushed to a test-cluster registry: /bin/sh (dash) and the
// C libraries srun-docker's agent needs, copied from the host, plus one layer of random bytes
// of its own (the `token`), so that no node has any of its layers and the registry's access log
// counts this image's fetches alone. A few MB instead of the 245 MB base image keeps each relay
// hop short on the 2-core test machine.
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { STATE } from "./cluster.js";
import { buildPushAndForget } from "./registry-images.js";

export interface TinyImage {
  readonly ref: string;
  readonly repo: string;
  /** The digest of its own layer (the last one: /token and /id). */
  readonly layer: string;
  /** The image ID. */
  readonly id: string;
  /** What /id in the image says: a job prints it to show which image each node runs. */
  readonly mark: string;
}

const LIBS = ["libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "libgcc_s.so.1", "libstdc++.so.6"];

/** Builds it (with `mb` MB of random bytes in its own layer) on node `buildNode`, pushes it as `host/repo:tag`, and removes it from that node again. */
export async function pushTinyImage(
  host: string,
  repo: string,
  tag: string,
  mb = 8,
  buildNode = 1,
): Promise<TinyImage> {
  const ref = `${host}/${repo}:${tag}`;
  const dir = mkdtempSync(path.join(STATE, "tiny-image-"));
  try {
    const root = path.join(dir, "rootfs");
    for (const sub of ["bin", "etc", "tmp", "lib/x86_64-linux-gnu", "lib64"])
      mkdirSync(path.join(root, sub), { recursive: true });
    chmodSync(path.join(root, "tmp"), 0o1777);
    copyFileSync("/bin/dash", path.join(root, "bin/sh"));
    for (const lib of LIBS)
      copyFileSync(realpathSync(`/lib/x86_64-linux-gnu/${lib}`), path.join(root, "lib/x86_64-linux-gnu", lib));
    copyFileSync(realpathSync("/lib64/ld-linux-x86-64.so.2"), path.join(root, "lib64/ld-linux-x86-64.so.2"));
    writeFileSync(path.join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    writeFileSync(path.join(root, "etc/group"), "root:x:0:\n");
    mkdirSync(path.join(dir, "payload"));
    writeFileSync(path.join(dir, "payload/token"), randomBytes(mb * 1024 * 1024));
    const mark = randomBytes(6).toString("hex");
    writeFileSync(path.join(dir, "payload/id"), `${mark}\n`);
    writeFileSync(path.join(dir, "Dockerfile"), "FROM scratch\nCOPY rootfs/ /\nENV PATH=/bin\nCOPY payload/ /\n");
    // The last layer is the token's.
    return { ref, repo, ...(await buildPushAndForget(buildNode, dir, ref)), mark };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh tag, unique to this run of the tests. */
export const uniqueTag = (): string => randomBytes(4).toString("hex");
