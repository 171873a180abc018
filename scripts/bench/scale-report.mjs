// The scale bench's report: per N, min / median / max of each measure over the runs, as a
// Markdown table, then the JSON summary (also written to bench-scale-results.json).
import { writeFileSync } from "node:fs";
import { stats } from "./report.mjs";
import { lineChart } from "./svg-chart.mjs";

/** Targets on a 2-core machine at the largest N: 4096 workers ready within 1 s, the abort to all within 0.5 s. */
export const TARGETS = { allReadyMs: 1000, abortDeliveredMs: 500 };

const MEASURES = [
  ["allReadyMs", "all ready: first hello → ready (ms)", 0],
  ["helloSpreadMs", "first → last hello (ms)", 0],
  ["abortDeliveredMs", "abort → every worker has it (ms)", 0],
  ["abortClosedMs", "abort → every socket closed (ms)", 0],
  ["lostDetectedMs", "reset → onWorkerLost (ms)", 1],
  ["masterCpuGatherSeconds", "master CPU s until ready", 2],
  ["masterCpuSeconds", "master CPU s in all", 2],
  ["workersCpuJoinSeconds", "simulated workers' CPU s until joined", 2],
  ["rssReadyMiB", "master RSS at ready (MiB)", 0],
  ["rssPerWorkerKiB", "RSS growth per worker (KiB)", 1],
  ["fds", "master fds at ready", 0],
];

/** One row per N from its runs; a measure missing from a failed run is left out of its stats. */
export function summarizeScale(n, runs) {
  const row = { nodes: n, runs: runs.length, procs: runs[0]?.procs };
  for (const [key] of MEASURES) {
    const values = runs.map((r) => r[key]).filter((v) => typeof v === "number" && Number.isFinite(v));
    row[key] = values.length > 0 ? stats(values) : undefined;
  }
  row.failedRuns = runs.filter((r) => r.problems.length > 0).length;
  row.problems = runs.flatMap((r, i) => r.problems.map((p) => `run ${i + 1}: ${p}`));
  return row;
}

const cell = (s, digits) =>
  s === undefined ? "-" : `${s.min.toFixed(digits)} / **${s.median.toFixed(digits)}** / ${s.max.toFixed(digits)}`;

export function printScaleReport(summary) {
  const { rows } = summary;
  console.log("min / **median** / max over the runs; times in ms.\n");
  console.log(`| measure | ${rows.map((r) => `N=${r.nodes}`).join(" | ")} |`);
  console.log(`|---|${rows.map(() => "---|").join("")}`);
  for (const [key, label, digits] of MEASURES) {
    console.log(`| ${label} | ${rows.map((r) => cell(r[key], digits)).join(" | ")} |`);
  }
  // Linear memory means a steady slope from one N to the next, whatever the fixed baseline.
  const slopes = rows.map((r, i) => {
    const before = rows[i - 1];
    if (before?.rssReadyMiB === undefined || r.rssReadyMiB === undefined) return undefined;
    return ((r.rssReadyMiB.median - before.rssReadyMiB.median) * 1024) / (r.nodes - before.nodes);
  });
  for (const [i, r] of rows.entries()) r.rssSlopeKiBPerWorker = slopes[i];
  console.log(
    `| RSS slope from the previous N (KiB/worker) | ${slopes.map((x) => x?.toFixed(1) ?? "-").join(" | ")} |`,
  );
  console.log(`| worker processes | ${rows.map((r) => r.procs ?? "-").join(" | ")} |`);
  console.log(`| runs with problems (timeouts, retries, drops) | ${rows.map((r) => r.failedRuns).join(" | ")} |`);
  for (const r of rows) for (const p of r.problems.slice(0, 10)) console.log(`- N=${r.nodes} ${p}`);
  const last = rows.at(-1);
  if (last !== undefined) {
    const verdict = Object.entries(TARGETS).map(([key, limit]) => {
      const median = last[key]?.median;
      return `${key} ${median === undefined ? "n/a" : median.toFixed(0)} ≤ ${limit}: ${median !== undefined && median <= limit ? "met" : "MISSED"}`;
    });
    console.log(`\nTargets at N=${last.nodes}: ${verdict.join("; ")}; runs with problems: ${last.failedRuns}`);
  }
  const json = JSON.stringify(summary, null, 2);
  console.log(`\n${json}`);
  writeFileSync("bench-scale-results.json", `${json}\n`);
  writeFileSync("bench-scale-results.svg", scaleChart(rows));
}

/** The rendezvous at scale: all-ready and abort delivery against N (median ms), with the targets. */
function scaleChart(rows) {
  const line = (key) => rows.filter((r) => r[key] !== undefined).map((r) => [r.nodes, r[key].median]);
  const xs = rows.map((r) => r.nodes);
  return lineChart({
    title: "rendezvous at scale: one master, N simulated workers (median ms)",
    xLabel: "nodes (workers)",
    yLabel: "ms",
    logX: true,
    series: [
      { name: "all ready", points: line("allReadyMs") },
      { name: "abort delivered", points: line("abortDeliveredMs") },
      { name: "target all ready", points: xs.map((x) => [x, TARGETS.allReadyMs]), dashed: true },
      { name: "target abort", points: xs.map((x) => [x, TARGETS.abortDeliveredMs]), dashed: true },
    ],
  });
}
