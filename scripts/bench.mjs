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
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fail, lookupUser, prepare, STATE } from "./bench/cluster-user.mjs";
import { floorA, floorB, srunDocker } from "./bench/measure.mjs";
import { IDEAL_MODEL, printReport, stats } from "./bench/report.mjs";

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
  printReport(summary);
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
