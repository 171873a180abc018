#!/usr/bin/env node
// Launch and teardown of srun-docker against the physical floor, on the multi-node test
// cluster (test/cluster/cluster.sh). Run as root (it installs the tool for the bench user and
// runs everything as that user through `su -`); needs the cluster up and `npm run build`.
//
//   npm run bench                              # N = 2,4 (and 8 on an 8-node cluster), 5 runs
//   npm run bench -- --nodes=2,4,8 --runs=3 --user=carol
//
// Every time is a difference of two wall-clock stamps (`date +%s.%N`) taken on this machine:
// by the shell that calls srun, and by the job script itself. Nothing is a timed test.
import { spawn } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";

const REPO = path.resolve(import.meta.dirname, "..");
const STATE = process.env.SDTC_STATE ?? "/var/lib/srun-docker-testcluster";
const CLUSTER_SH = path.join(REPO, "test/cluster/cluster.sh");
const BUNDLE = path.join(REPO, "dist/srun-docker.cjs");
const IMAGE = process.env.SDTC_IMAGE ?? "srun-docker-test:latest";

const JOB_SCRIPT = `#!/bin/bash
echo "BENCH_T0 $(date +%s.%N)"
mpirun -H "$hostlist" -np "$np" hostname
echo "BENCH_T1 $(date +%s.%N)"
`;

// Floor B, run on one node by srun: a container of the test image with an sshd as the user
// (the tool's own way: a user sshd with its own config and host key, --init, --net=host),
// until its banner answers; then `docker rm -f`. Prints seconds for each part.
const FLOOR_B_SCRIPT = `import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
const [dir, port, image, uid, gid] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e9;
const name = "srun-docker-bench-" + process.env.USER + "-" + port;
const banner = () => new Promise((resolve) => {
  const s = connect({ host: "127.0.0.1", port: Number(port) });
  let got = "";
  s.setEncoding("latin1");
  s.on("data", (d) => { got += d; if (got.includes("SSH-2.0")) { s.destroy(); resolve(true); } });
  s.on("error", () => resolve(false));
  s.on("close", () => resolve(got.includes("SSH-2.0")));
});
// Busy CPU seconds of the whole machine (USER_HZ 100): what starting the container costs the
// daemons, runc and sshd, which no rusage of ours sees. Noisy when others use the machine.
const busy = () => {
  const f = readFileSync("/proc/stat", "utf8").split("\\n")[0].trim().split(/\\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100;
};
const b0 = busy();
const t0 = now();
const r = spawnSync("docker", ["run", "-d", "--init", "--rm", "--name", name, "--net=host", "--user", uid + ":" + gid,
  "-v", dir + ":" + dir + ":ro", image, "/usr/sbin/sshd", "-D", "-e", "-p", port, "-f", dir + "/sshd_config"], { encoding: "utf8" });
if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
const t1 = now();
for (;;) {
  if (await banner()) break;
  if (now() - t0 > 30) { console.error("no banner"); break; }
  await new Promise((res) => setTimeout(res, 5));
}
const t2 = now();
const b2 = busy();
spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
const t3 = now();
console.log("FLOORB " + JSON.stringify({ run: t1 - t0, banner: t2 - t1, up: t2 - t0, rm: t3 - t2, cpu: b2 - b0 }));
`;

function parseArgs(argv) {
  const out = { nodes: undefined, runs: 5, user: "carol" };
  for (const arg of argv) {
    const m = /^--(nodes|runs|user)=(.+)$/.exec(arg);
    if (!m) {
      if (arg === "--help" || arg === "-h") {
        console.log("usage: node scripts/bench.mjs [--nodes=2,4,8] [--runs=5] [--user=carol]");
        process.exit(0);
      }
      console.error(`bench: unknown argument \`${arg}\` (expected --nodes=2,4,8, --runs=K or --user=NAME)`);
      process.exit(2);
    }
    if (m[1] === "nodes") out.nodes = m[2].split(",").map(Number);
    else if (m[1] === "runs") out.runs = Number(m[2]);
    else out.user = m[2];
  }
  if (out.nodes?.some((n) => !Number.isInteger(n) || n < 1))
    fail("`--nodes` wants a list of node counts, e.g. --nodes=2,4,8");
  if (!Number.isInteger(out.runs) || out.runs < 1) fail("`--runs` wants a positive integer, e.g. --runs=5");
  return out;
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(1);
}

function run(file, args, timeoutMs = 180_000) {
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
async function stamped(user, dir, body) {
  const script = `cd ${dir} && echo "BENCH_S $(date +%s.%N)" && { ${body}; } ; rc=$?; echo "BENCH_E $(date +%s.%N)"; exit $rc`;
  const r = await run("su", ["-", user, "-c", script]);
  const stamp = (tag) => Number(new RegExp(`(?:^|\\s)${tag} (\\d+\\.\\d+)`, "m").exec(r.stdout)?.[1]);
  return { ...r, S: stamp("BENCH_S"), E: stamp("BENCH_E"), T0: stamp("BENCH_T0"), T1: stamp("BENCH_T1") };
}

function lookupUser(user) {
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

async function prepare(user, ids) {
  if (process.getuid?.() !== 0)
    fail("run it as root: it installs the tool for the bench user and runs as them via `su -`");
  if (!existsSync(BUNDLE)) fail(`${BUNDLE} is missing: run \`npm run build\` first`);
  const bin = path.join(ids.home, "bin");
  mkdirSync(bin, { recursive: true });
  chownSync(bin, ids.uid, ids.gid);
  copyFileSync(BUNDLE, path.join(bin, "srun-docker"));
  chownSync(path.join(bin, "srun-docker"), ids.uid, ids.gid);
  chmodSync(path.join(bin, "srun-docker"), 0o755);
  const dir = path.join(ids.home, "srun-docker-bench");
  mkdirSync(dir, { recursive: true });
  chownSync(dir, ids.uid, ids.gid);
  writeAs(path.join(dir, "job.sh"), JOB_SCRIPT, ids, 0o755);
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
async function leftovers(size, uid) {
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

const IDEAL_MODEL =
  "ideal launch(N) = floor A(N) + max(floor B, N × (b + c) / cores): srun must start the tasks (floor A), one node must start its " +
  "container and sshd (floor B), and when N nodes share the cores no schedule beats their total CPU work over the cores; b = the " +
  "machine's busy CPU seconds during floor B (daemon, runc, sshd; median), c = the tool's CPU seconds per node (with its docker CLI children; median)";

const PHASE_LINE =
  /\[(node\d+) (master|worker)\] prepare ([\d.]+)s, containers up ([\d.]+)s, job ([\d.]+)s, teardown ([\d.]+)s; exit (\d+)/;
const TIME_LINE = /^(?:\s*(\d+): )?BENCH_TIME ([\d.]+) ([\d.]+) (\d+)$/;

async function floorA(ctx, n) {
  const r = await stamped(ctx.user, ctx.dir, `srun -N ${n} hostname >/dev/null`);
  if (r.code !== 0) throw new Error(`srun -N ${n} hostname failed: ${r.stderr.trim()}`);
  return r.E - r.S;
}

async function floorB(ctx, attempt) {
  const port = 30000 + (ctx.ids.uid % 100) * 50 + (attempt % 50);
  const r = await stamped(
    ctx.user,
    ctx.dir,
    `srun -N 1 -w node1 node floor-b.mjs ${ctx.sshd} ${port} ${IMAGE} ${ctx.ids.uid} ${ctx.ids.gid}`,
  );
  const m = /FLOORB (\{.*\})/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`floor B failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return JSON.parse(m[1]);
}

async function srunDocker(ctx, n) {
  const time = `/usr/bin/time -f 'BENCH_TIME %U %S %M'`;
  const r = await stamped(
    ctx.user,
    ctx.dir,
    `srun -N ${n} --label ${time} srun-docker --container=${IMAGE} --script=./job.sh --slots-per-node=1`,
  );
  if (r.code !== 0 || !Number.isFinite(r.T0) || !Number.isFinite(r.T1)) {
    throw new Error(`srun-docker on ${n} nodes failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  const left = await leftovers(ctx.size, ctx.ids.uid);
  if (left.length > 0) throw new Error(`containers left after srun returned: ${left.join(", ")}`);
  const hosts = r.stdout.split("\n").filter((l) => /^\s*0: node\d+$/.test(l)).length;
  if (hosts !== n) throw new Error(`mpirun printed ${hosts} hostnames, expected ${n}:\n${r.stdout}`);
  const nodes = {};
  for (const line of r.stderr.split("\n")) {
    const p = PHASE_LINE.exec(line);
    if (p) {
      nodes[p[1]] = { ...nodes[p[1]], role: p[2], prepare: +p[3], containersUp: +p[4], job: +p[5], teardown: +p[6] };
    }
  }
  // srun --label puts the task rank in front; rank k runs on the k-th node of the allocation.
  const cpu = [];
  for (const line of r.stderr.split("\n")) {
    const t = TIME_LINE.exec(line);
    if (t)
      cpu.push({
        rank: Number(t[1] ?? 0),
        cpuSeconds: +t[2] + +t[3],
        userSeconds: +t[2],
        sysSeconds: +t[3],
        maxRssMiB: +t[4] / 1024,
      });
  }
  return { launch: r.T0 - r.S, teardown: r.E - r.T1, total: r.E - r.S, job: r.T1 - r.T0, nodes, cpu };
}

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  const r = (x) => Math.round(x * 1000) / 1000;
  return { min: r(v[0]), median: r(mid), max: r(v.at(-1)) };
}

const fmt = (s) => `${s.min.toFixed(2)} / ${s.median.toFixed(2)} / ${s.max.toFixed(2)}`;

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const sizeFile = path.join(STATE, "run/size");
  const size = existsSync(sizeFile) ? Number(readFileSync(sizeFile, "utf8").trim()) : 0;
  if (!size) fail("the test cluster is not up: run `bash test/cluster/cluster.sh up 4` (or `up 8`) first");
  const wanted = args.nodes ?? (size >= 8 ? [2, 4, 8] : [2, 4]);
  const counts = [];
  for (const n of wanted) {
    if (n > size)
      console.error(
        `bench: skipping N=${n}: the cluster has ${size} nodes (run \`bash test/cluster/cluster.sh up ${n}\` first)`,
      );
    else counts.push(n);
  }
  if (counts.length === 0) fail("no node count fits the cluster");
  const ids = lookupUser(args.user);
  const { dir, sshd } = await prepare(args.user, ids);
  const ctx = { user: args.user, ids, dir, sshd, size };
  const cores = availableParallelism();
  console.error(
    `bench: ${size}-node cluster, ${cores} cores, user ${args.user}, N=${counts.join(",")}, ${args.runs} runs each`,
  );

  // One unmeasured run first: it creates the user's ~/.srun-docker material and image cache,
  // which every later job of the user reuses.
  await srunDocker(ctx, counts[0]);

  const fb = [];
  for (let i = 0; i < args.runs; i++) fb.push(await floorB(ctx, i));
  const floorBUp = stats(fb.map((b) => b.up));
  const floorBCpu = stats(fb.map((b) => b.cpu));
  const results = [];
  for (const n of counts) {
    const a = [];
    const s = [];
    for (let i = 0; i < args.runs; i++) {
      a.push(await floorA(ctx, n));
      s.push(await srunDocker(ctx, n));
      process.stderr.write(".");
    }
    process.stderr.write("\n");
    const floorA_ = stats(a);
    const launch = stats(s.map((x) => x.launch));
    const cpu = s.flatMap((x) => x.cpu);
    const cpuPerNode = stats(cpu.map((c) => c.cpuSeconds));
    // Ideal: see IDEAL_MODEL. With N ≤ cores it is floor A + floor B.
    const work = floorBCpu.median + cpuPerNode.median;
    const ideal = floorA_.median + Math.max(floorBUp.median, (n * work) / cores);
    const phases = {};
    for (const x of s) {
      for (const p of Object.values(x.nodes)) {
        for (const key of ["prepare", "containersUp", "job", "teardown"]) {
          phases[`${p.role}.${key}`] ??= [];
          phases[`${p.role}.${key}`].push(p[key]);
        }
      }
    }
    results.push({
      nodes: n,
      runs: args.runs,
      floorA: floorA_,
      floorB: floorBUp,
      launch,
      teardown: stats(s.map((x) => x.teardown)),
      total: stats(s.map((x) => x.total)),
      launchOverFloors: Math.round((launch.median / (floorA_.median + floorBUp.median)) * 100) / 100,
      launchMinusFloors: Math.round((launch.median - (floorA_.median + floorBUp.median)) * 1000) / 1000,
      idealLaunch: Math.round(ideal * 1000) / 1000,
      launchOverIdeal: Math.round((launch.median / ideal) * 100) / 100,
      tool: {
        cpuSecondsPerNode: cpuPerNode,
        maxRssMiB: stats(cpu.map((c) => c.maxRssMiB)),
        phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, stats(v)])),
      },
    });
  }
  const first = results[0];
  const last = results.at(-1);
  const summary = {
    cluster: { nodes: size, cores },
    floorBParts: {
      dockerRun: stats(fb.map((b) => b.run)),
      bannerAfterRun: stats(fb.map((b) => b.banner)),
      rm: stats(fb.map((b) => b.rm)),
    },
    results,
    scaling: {
      [`launch(N=${last.nodes})/launch(N=${first.nodes})`]:
        Math.round((last.launch.median / first.launch.median) * 100) / 100,
    },
    floorBCpuSeconds: floorBCpu,
    idealModel: IDEAL_MODEL,
  };

  const lines = [
    "| N | floor A: srun hostname | floor B: docker run → sshd banner | launch | teardown | total | launch ÷ (A+B) | ideal launch | launch ÷ ideal | tool CPU s/node | tool max RSS MiB |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.nodes} | ${fmt(r.floorA)} | ${fmt(r.floorB)} | ${fmt(r.launch)} | ${fmt(r.teardown)} | ${fmt(r.total)} | ${r.launchOverFloors.toFixed(2)} | ${r.idealLaunch.toFixed(2)} | ${r.launchOverIdeal.toFixed(2)} | ${fmt(r.tool.cpuSecondsPerNode)} | ${r.tool.maxRssMiB.median.toFixed(0)} |`,
    );
  }
  console.log("Times in seconds, min / median / max; ratios of medians.\n");
  console.log(lines.join("\n"));
  console.log(
    `\n${Object.entries(summary.scaling)
      .map(([k, v]) => `${k} = ${v}`)
      .join("; ")}`,
  );
  console.log("\nPer-node phases reported by the tool (median s):\n");
  console.log("| N | role | prepare | containers up | job | teardown |\n|---|---|---|---|---|---|");
  for (const r of results) {
    for (const role of ["master", "worker"]) {
      const p = (k) => r.tool.phases[`${role}.${k}`]?.median.toFixed(2) ?? "-";
      console.log(`| ${r.nodes} | ${role} | ${p("prepare")} | ${p("containersUp")} | ${p("job")} | ${p("teardown")} |`);
    }
  }
  console.log(`\n${summary.idealModel}\n`);
  const json = JSON.stringify(summary, null, 2);
  console.log(json);
  writeFileSync("bench-results.json", `${json}\n`);
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
