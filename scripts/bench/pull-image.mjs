// The pull bench's images: built on node1 and pushed to the cluster's open registry, then
// removed from node1, so no node has their own layer. `cold`: FROM scratch with /bin/sh and the
// C libraries the agent needs (a few MB, copied from the host) plus `mb` MB of random bytes: no
// node has any of its layers, the case --pull-once is for. `warm-base`: the test image without
// sshd, which every node has, plus the same random layer: what a new build of an app on a
// shared base looks like.
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { run, STATE } from "./cluster-user.mjs";

const CLUSTER_SH = path.resolve(import.meta.dirname, "../../test/cluster/cluster.sh");
const NOSSH_IMAGE = process.env.SDTC_NOSSH_IMAGE ?? "srun-docker-test-nossh:latest";
const LIBS = ["libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "libgcc_s.so.1", "libstdc++.so.6"];

export const SCENARIOS = ["cold", "warm-base"];

/** The open registry as `cluster.sh up` wrote it: its host and access log. */
export function openRegistry() {
  const info = JSON.parse(readFileSync(path.join(STATE, "registry/registry.json"), "utf8"));
  return { host: info.open.host, accessLog: info.open.accessLog };
}

export async function pushBenchImage(scenario, mb) {
  const reg = openRegistry();
  const repo = `sdtc-bench-pull-${randomBytes(4).toString("hex")}`;
  const ref = `${reg.host}/${repo}:1`;
  const dir = mkdtempSync(path.join(STATE, "bench-pull-"));
  try {
    let from = NOSSH_IMAGE;
    if (scenario === "cold") {
      from = "scratch";
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
    }
    writeFileSync(path.join(dir, "payload"), randomBytes(mb * 1024 * 1024));
    const steps = scenario === "cold" ? "COPY rootfs/ /\nENV PATH=/bin\n" : "";
    writeFileSync(path.join(dir, "Dockerfile"), `FROM ${from}\n${steps}COPY payload /payload\n`);
    const script = [
      "set -e",
      `tar -C ${dir} -c . | docker build -q -t ${ref} - >/dev/null`,
      `docker push -q ${ref} >/dev/null`,
      `docker rmi -f ${ref} >/dev/null`,
    ].join("\n");
    const r = await run("bash", [CLUSTER_SH, "exec", "1", "bash", "-c", script], 600_000);
    if (r.code !== 0) throw new Error(`pushing ${ref}: ${r.stderr.trim()}`);
    return { ref, repo };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Removes every image of the repository from the first `size` nodes. */
export async function removeBenchImage(size, ref) {
  const repo = ref.slice(0, ref.lastIndexOf(":"));
  for (let k = 1; k <= size; k++) {
    await run("bash", [
      CLUSTER_SH,
      "exec",
      String(k),
      "sh",
      "-c",
      `docker images -q --no-trunc ${repo} | sort -u | xargs -r docker rmi -f >/dev/null 2>&1; true`,
    ]);
  }
}

/** What the registry served for `repo`'s blobs since byte `mark` of its access log: bytes and fetches per node. */
export function servedSince(accessLog, mark, repo) {
  const text = readFileSync(accessLog).subarray(mark).toString("utf8");
  let bytes = 0;
  const fetches = {};
  for (const line of text.split("\n")) {
    const m = /^(\S+) \S+ \S+ \[[^\]]*\] "GET \/v2\/(\S+)\/blobs\/\S+ [^"]*" 200 (\d+)/.exec(line);
    if (!m || m[2] !== repo) continue;
    bytes += Number(m[3]);
    fetches[m[1]] = (fetches[m[1]] ?? 0) + 1;
  }
  return { bytes, fetches };
}
