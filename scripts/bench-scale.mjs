#!/usr/bin/env node
// How the rendezvous star scales: the real master (startRendezvousMaster) in its own process
// against N simulated workers running the real worker code, spread over several processes,
// over loopback TCP with a real run's secret, job key, heartbeats and deadlines. No cluster,
// no containers: this is the rendezvous alone.
//
//   npm run bench:scale                                  # N = 64,256,1024,4096, 3 runs each
//   npm run bench:scale -- --nodes=256,4096 --runs=5 --procs=2 --profile
//
// --procs: worker processes (auto: one per 1024 nodes); --profile: --cpu-prof every process.
//
// Per N (median of runs): first hello → all ready, abort → every worker told, reset → the
// master's onWorkerLost, the master's CPU seconds, RSS and file descriptors.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { printScaleReport, summarizeScale } from "./bench/scale-report.mjs";
import { runOnce } from "./bench/scale-run.mjs";
import { printedTables, writeBenchBlock } from "./figures.mjs";

const root = path.resolve(import.meta.dirname, "..");
const USAGE = "usage: node scripts/bench-scale.mjs [--nodes=64,256,1024,4096] [--runs=3] [--procs=auto] [--profile]";

function fail(message) {
  console.error(`bench:scale: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const out = { nodes: [64, 256, 1024, 4096], runs: 3, procs: "auto", profile: false };
  for (const arg of argv) {
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    if (arg === "--profile") {
      out.profile = true;
      continue;
    }
    const m = /^--(nodes|runs|procs)=(.+)$/.exec(arg);
    if (!m) fail(`unknown argument \`${arg}\` (expected --nodes=64,256, --runs=K, --procs=P|auto or --profile)`);
    if (m[1] === "nodes") out.nodes = m[2].split(",").map(Number);
    else if (m[1] === "runs") out.runs = Number(m[2]);
    else out.procs = m[2] === "auto" ? "auto" : Number(m[2]);
  }
  if (out.nodes.some((n) => !Number.isInteger(n) || n < 2))
    fail("`--nodes` wants node counts ≥ 2, e.g. --nodes=64,256");
  if (!Number.isInteger(out.runs) || out.runs < 1) fail("`--runs` wants a positive integer, e.g. --runs=3");
  if (out.procs !== "auto" && (!Number.isInteger(out.procs) || out.procs < 1))
    fail(`\`--procs\` wants a positive integer or auto, got \`${out.procs}\``);
  return out;
}

/** Worker processes for N: one per 1024 simulated nodes, so no process holds more than that. */
const procsFor = (n, procs) => Math.min(n, procs === "auto" ? Math.ceil(n / 1024) : procs);

/**
 * Every socket is a file descriptor: the master holds one per worker and so do the worker
 * processes. Node cannot set RLIMIT_NOFILE (it raises the soft limit to the hard one as it
 * starts, no further), so when that is too low the harness runs itself again under
 * `sh -c 'ulimit -n …'`: up to the hard limit, or past it as root.
 */
function ensureFdLimit(needed) {
  const [soft, hard] = execFileSync("sh", ["-c", "ulimit -Sn; ulimit -Hn"], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((v) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v)));
  if (soft >= needed) return;
  const root = process.getuid?.() === 0;
  if (process.env.SRUN_DOCKER_BENCH_SCALE_FDS === "raised" || (hard < needed && !root)) {
    fail(
      `N needs about ${needed} open files per process, the limit is ${soft} (hard ${hard}): raise it (ulimit -n) or lower --nodes`,
    );
  }
  const wanted = Math.max(needed, 65536);
  const target = hard >= needed ? Math.min(hard, wanted) : wanted;
  console.error(`bench:scale: raising the open-files limit from ${soft} to ${target}`);
  const argv = [...process.execArgv, process.argv[1], ...process.argv.slice(2)];
  const cannot = `echo "bench:scale: cannot raise the open-files limit to ${target}: lower --nodes" >&2; exit 2`;
  const script = `ulimit -n ${target} 2>/dev/null || { ${cannot}; }; exec "$0" "$@"`;
  const child = spawnSync("sh", ["-c", script, process.execPath, ...argv], {
    stdio: "inherit",
    env: { ...process.env, SRUN_DOCKER_BENCH_SCALE_FDS: "raised" },
  });
  process.exit(child.status ?? 1);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const maxN = Math.max(...args.nodes);
  // RLIMIT_NOFILE is per process: the master holds a socket per worker, plus Node's own.
  ensureFdLimit(maxN + 256);
  const work = mkdtempSync(path.join(tmpdir(), "srun-docker-bench-scale-"));
  const entry = path.join(work, "scale-entry.cjs");
  await build({
    entryPoints: [path.join(root, "scripts/bench/scale-entry.ts")],
    outfile: entry,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    sourcemap: args.profile ? "inline" : false,
    logLevel: "warning",
  });
  const profileRoot = path.join(process.cwd(), "bench-scale-profiles");
  console.error(
    `bench:scale: ${availableParallelism()} cores, N=${args.nodes.join(",")}, ${args.runs} runs each, node ${process.version}`,
  );
  const rows = [];
  try {
    for (const n of args.nodes) {
      const runs = [];
      for (let i = 0; i < args.runs; i++) {
        const profileDir = args.profile ? path.join(profileRoot, `n${n}-run${i + 1}`) : undefined;
        if (profileDir) mkdirSync(profileDir, { recursive: true });
        const result = await runOnce({ entry, nodes: n, procs: procsFor(n, args.procs), profileDir });
        runs.push(result);
        process.stderr.write(result.problems.length === 0 ? "." : "!");
      }
      process.stderr.write(` N=${n}\n`);
      rows.push({ ...summarizeScale(n, runs), raw: runs });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (args.profile) {
    console.error(
      `bench:scale: CPU profiles in ${profileRoot}/n<N>-run<K>/{master,workers}; the hot spots: node scripts/bench/profile-top.mjs <file>`,
    );
  }
  const summary = {
    machine: { cores: availableParallelism(), node: process.version },
    targets: "all ready ≤ 1000 ms and abort delivered ≤ 500 ms at N=4096 on 2 cores; no timeouts",
    rows,
  };
  const command = ["npm run bench:scale", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])];
  writeBenchBlock(root, "bench:scale", await printedTables(() => printScaleReport(summary)), command.join(" "));
  if (rows.some((r) => r.problems.length > 0)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`bench:scale: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
