// The bench's hands on the test cluster: run commands, run them as the bench user between two
// wall-clock stamps, install the tool and the job for that user, and look for leftovers.
import { spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { FLOOR_B_SCRIPT } from "./floor-b-script.mjs";

const REPO = path.resolve(import.meta.dirname, "../..");
export const STATE = process.env.SDTC_STATE ?? "/var/lib/srun-docker-testcluster";
const CLUSTER_SH = path.join(REPO, "test/cluster/cluster.sh");
// The single executable: --remote=agent mounts it into the containers.
const SEA = path.join(REPO, "dist/srun-docker");

const JOB_SCRIPT = `#!/bin/bash
echo "BENCH_T0 $(date +%s.%N)"
mpirun -H "$hostlist" -np "$np" hostname
echo "BENCH_T1 $(date +%s.%N)"
`;

// For --launcher=srun: every rank prints its hostname; rank 0 stamps before and after.
const SRUN_JOB_SCRIPT = `#!/bin/sh
[ "$RANK" = 0 ] && echo "BENCH_T0 $(date +%s.%N)"
hostname
[ "$RANK" = 0 ] && echo "BENCH_T1 $(date +%s.%N)"
exit 0
`;

// Remote commands from the master's container to the second node: ssh's round trip and bulk output.
const REMOTE_SCRIPT = `#!/bin/bash
peer=$(echo "$hostlist" | cut -d, -f2 | cut -d: -f1)
ssh "$peer" true
for i in $(seq 10); do s=$(date +%s.%N); ssh "$peer" true; echo "BENCH_SSH $s $(date +%s.%N)"; done
s=$(date +%s.%N); bytes=$(ssh "$peer" 'head -c 200000000 /dev/zero' | wc -c)
echo "BENCH_BULK $bytes $s $(date +%s.%N)"
`;

export function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

export function run(file, args, timeoutMs = 180_000) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A login shell of the bench user; `body` runs between two stamps S and E. */
export async function stamped(user, dir, body) {
  const script = `cd ${dir} && echo "BENCH_S $(date +%s.%N)" && { ${body}; } ; rc=$?; echo "BENCH_E $(date +%s.%N)"; exit $rc`;
  const r = await run("su", ["-", user, "-c", script]);
  const stamp = (tag) => Number(new RegExp(`(?:^|\\s)${tag} (\\d+\\.\\d+)`, "m").exec(r.stdout)?.[1]);
  return { ...r, S: stamp("BENCH_S"), E: stamp("BENCH_E"), T0: stamp("BENCH_T0"), T1: stamp("BENCH_T1") };
}

export function lookupUser(user) {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) fail(`no user \`${user}\` on this machine (the test cluster creates carol)`);
  const [, , uid, gid, , home] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), home };
}

function writeAs(file, content, ids, mode = 0o644) {
  writeFileSync(file, content);
  chmodSync(file, mode);
  chownSync(file, ids.uid, ids.gid);
}

export async function prepare(user, ids) {
  if (process.getuid?.() !== 0)
    fail("run it as root: it installs the tool for the bench user and runs as them via `su -`");
  if (!existsSync(SEA)) fail(`${SEA} is missing: run \`npm run build\` first`);
  const bin = path.join(ids.home, "bin");
  mkdirSync(bin, { recursive: true });
  chownSync(bin, ids.uid, ids.gid);
  copyFileSync(SEA, path.join(bin, "srun-docker.new"));
  renameSync(path.join(bin, "srun-docker.new"), path.join(bin, "srun-docker"));
  chownSync(path.join(bin, "srun-docker"), ids.uid, ids.gid);
  chmodSync(path.join(bin, "srun-docker"), 0o755);
  const dir = path.join(ids.home, "srun-docker-bench");
  mkdirSync(dir, { recursive: true });
  chownSync(dir, ids.uid, ids.gid);
  writeAs(path.join(dir, "job.sh"), JOB_SCRIPT, ids, 0o755);
  writeAs(path.join(dir, "remote.sh"), REMOTE_SCRIPT, ids, 0o755);
  writeAs(path.join(dir, "srun-job.sh"), SRUN_JOB_SCRIPT, ids, 0o755);
  writeAs(path.join(dir, "floor-b.mjs"), FLOOR_B_SCRIPT, ids);
  // Floor B's sshd: the same kind of config the tool generates, with a throwaway host key.
  const sshd = path.join(dir, "sshd");
  mkdirSync(sshd, { recursive: true, mode: 0o700 });
  chownSync(sshd, ids.uid, ids.gid);
  if (!existsSync(path.join(sshd, "host_key"))) {
    const k = await run("su", ["-", user, "-c", `ssh-keygen -q -t ed25519 -N '' -f ${sshd}/host_key`]);
    if (k.code !== 0) fail(`ssh-keygen as ${user} failed: ${k.stderr.trim()}`);
  }
  const config = [
    `HostKey ${sshd}/host_key`,
    `PidFile ${sshd}/sshd.pid`,
    `AllowUsers ${user}`,
    "UsePAM no",
    "StrictModes no",
    "PasswordAuthentication no",
    "LogLevel ERROR",
    "",
  ].join("\n");
  writeAs(path.join(sshd, "sshd_config"), config, ids, 0o600);
  return { dir, sshd };
}

/** Containers of the bench user on every node (as root, read-only): must be none after a run. */
export async function leftovers(size, uid) {
  const found = [];
  for (let k = 1; k <= size; k++) {
    const r = await run("bash", [
      CLUSTER_SH,
      "exec",
      String(k),
      "docker",
      "ps",
      "-aq",
      "--filter",
      `label=srun-docker.uid=${uid}`,
    ]);
    for (const id of r.stdout.split("\n").filter(Boolean)) found.push(`node${k}:${id}`);
  }
  return found;
}
