#!/usr/bin/env node
// Launch and teardown of srun-docker against the physical floor, on the multi-node test
// cluster (test/cluster/cluster.sh). Run as root (it installs the tool for the bench user and
// runs everything as that user through `su -`); needs the cluster up and `npm run build`.
//
//   npm run bench                              # N = 2,4 (and 8 on an 8-node cluster), 5 runs
//   npm run bench -- --nodes=2,4,8 --runs=3 --user=carol
//   npm run bench -- --pull[=MB] --nodes=2,4 --runs=3   # only the pull bench (scripts/bench/pull.mjs)
//   npm run bench -- --named --runs=10         # only the named-container step at N=2 (scripts/bench/named.mjs)
//
// Every time is a difference of two wall-clock stamps (`date +%s.%N`) taken on this machine:
// by the shell that calls srun, and by the job script itself. Nothing is a timed test.
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fail, lookupUser, prepare, STATE, stamped } from "./bench/cluster-user.mjs";
import { floorA, floorB, REMOTES, remoteCommands, srunDocker } from "./bench/measure.mjs";
import { benchNamed, printNamedReport } from "./bench/named.mjs";
import { benchPulls, printPullReport } from "./bench/pull.mjs";
import { IDEAL_MODEL, printReport, stats, summarizeLaunches } from "./bench/report.mjs";
import { printedTables, stamp, writeBenchBlock, writeFigures } from "./figures.mjs";

const root = path.resolve(import.meta.dirname, "..");
/** The command as typed, for the docs beside its tables. */
const command = ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" ");

function parseArgs(argv) {
  const out = { nodes: undefined, runs: 5, user: "carol", pullMB: undefined, named: false };
  for (const arg of argv) {
    if (arg === "--pull") {
      out.pullMB = 200;
      continue;
    }
    if (arg === "--named") {
      out.named = true;
      continue;
    }
    const m = /^--(nodes|runs|user|pull)=(.+)$/.exec(arg);
    if (!m) {
      if (arg === "--help" || arg === "-h") {
        console.log("usage: node scripts/bench.mjs [--nodes=2,4,8] [--runs=5] [--user=carol] [--pull[=MB] | --named]");
        process.exit(0);
      }
      console.error(
        `bench: unknown argument \`${arg}\` (expected --nodes=2,4,8, --runs=K, --user=NAME, --pull[=MB] or --named)`,
      );
      process.exit(2);
    }
    if (m[1] === "nodes") out.nodes = m[2].split(",").map(Number);
    else if (m[1] === "runs") out.runs = Number(m[2]);
    else if (m[1] === "pull") out.pullMB = Number(m[2]);
    else out.user = m[2];
  }
  if (out.pullMB !== undefined && (!Number.isInteger(out.pullMB) || out.pullMB < 1))
    fail("`--pull` wants the size of the image's own layer in MB, e.g. --pull=200");
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
  const counts = fittingCounts(args.nodes ?? (size >= 8 ? [2, 4, 8] : [2, 4]), size);
  const ids = lookupUser(args.user);
  const { dir, sshd } = await prepare(args.user, ids);
  const ctx = { user: args.user, ids, dir, sshd, size };
  const cores = availableParallelism();
  if (args.named) return benchNamedStep(ctx, args.runs);
  if (args.pullMB !== undefined) {
    console.error(
      `bench: pulls of a fresh image with a ${args.pullMB} MB layer, N=${counts.join(",")}, every node vs --pull-once, ${args.runs} runs each`,
    );
    const rows = await benchPulls(ctx, counts, args.runs, args.pullMB);
    writeBenchBlock(root, "bench --pull", await printedTables(() => printPullReport(rows)), command);
    return;
  }
  console.error(
    `bench: ${size}-node cluster, ${cores} cores, user ${args.user}, N=${counts.join(",")}, --remote=agent and sshd, --launcher=srun, ${args.runs} runs each`,
  );
  // One unmeasured run first: it creates the user's ~/.srun-docker material and image cache,
  // which every later job of the user reuses.
  await srunDocker(ctx, counts[0], "agent");
  const measured = { results: [], floorsB: {}, remote: {} };
  for (const mode of Object.keys(REMOTES)) await benchMode(ctx, mode, counts, args.runs, cores, measured);
  const summary = {
    cluster: { nodes: size, cores },
    floorBParts: floorBParts(measured.floorsB),
    results: measured.results,
    remoteCommands: measured.remote,
    scaling: scalingOf(measured.results),
    idealModel: IDEAL_MODEL,
  };
  writeBenchBlock(root, "bench", await printedTables(() => printReport(summary)), command);
}

/** The named-container step at N=2: its table into docs/benchmark.md, its figure into the README. */
async function benchNamedStep(ctx, runs) {
  console.error(`bench: a step reusing its named container vs a bare srun, N=2, ${runs} rounds`);
  await srunDocker(ctx, 2, "srun"); // unmeasured: the user's material and image cache
  const measured = await benchNamed(ctx, stamped, 2, runs);
  let figures = [];
  const tables = await printedTables(() => {
    figures = printNamedReport(measured);
  });
  // Stamped before either write: the docs the bench rewrites are not "changes" it measured.
  const measuredAt = stamp(root);
  writeBenchBlock(root, "bench --named", tables, command);
  const changed = writeFigures([path.join(root, "README.md")], figures, measuredAt);
  for (const file of changed) console.error(`bench: wrote its figure into ${path.relative(root, file)}`);
}

/** The node counts the cluster has nodes for; says which it skips. */
function fittingCounts(wanted, size) {
  const counts = [];
  for (const n of wanted) {
    if (n > size)
      console.error(
        `bench: skipping N=${n}: the cluster has ${size} nodes (run \`bash test/cluster/cluster.sh up ${n}\` first)`,
      );
    else counts.push(n);
  }
  if (counts.length === 0) fail("no node count fits the cluster");
  return counts;
}

/** One remote mode: its floor B, its launches at each node count, its remote commands. */
async function benchMode(ctx, mode, counts, runs, cores, measured) {
  // The srun launcher's containers serve nothing: its floor B is the agent's (first process runs).
  const fb = [];
  if (mode === "srun") fb.push(...measured.floorsB.agent);
  else for (let i = 0; i < runs; i++) fb.push(await floorB(ctx, mode, i));
  measured.floorsB[mode] = fb;
  for (const n of counts) {
    const a = [];
    const s = [];
    for (let i = 0; i < runs; i++) {
      a.push(await floorA(ctx, n));
      s.push(await srunDocker(ctx, n, mode));
      process.stderr.write(".");
    }
    process.stderr.write("\n");
    measured.results.push(
      summarizeLaunches({ remote: mode, nodes: n, runs, floorA: a, floorB: fb, launches: s, cores }),
    );
  }
  if (mode === "srun") return;
  const trips = [];
  const rates = [];
  for (let i = 0; i < runs; i++) {
    const m = await remoteCommands(ctx, mode);
    trips.push(...m.trips);
    rates.push(m.mbPerSecond);
  }
  measured.remote[mode] = { sshTrueSeconds: stats(trips), bulkMBPerSecond: stats(rates) };
}

function floorBParts(floorsB) {
  return Object.fromEntries(
    Object.entries(floorsB).map(([mode, fb]) => [
      mode,
      {
        dockerRun: stats(fb.map((b) => b.run)),
        readyAfterRun: stats(fb.map((b) => b.ready)),
        rm: stats(fb.map((b) => b.rm)),
        cpuSeconds: stats(fb.map((b) => b.cpu)),
      },
    ]),
  );
}

function scalingOf(results) {
  const scaling = {};
  for (const mode of Object.keys(REMOTES)) {
    const mine = results.filter((r) => r.remote === mode);
    const first = mine[0];
    const last = mine.at(-1);
    scaling[`${mode}: launch(N=${last.nodes})/launch(N=${first.nodes})`] =
      Math.round((last.launch.median / first.launch.median) * 100) / 100;
  }
  return scaling;
}

main().catch((error) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
