// Statistics and the printed report: tables of medians and ratios, then the JSON summary.
import { writeFileSync } from "node:fs";
import { lineChart } from "./svg-chart.mjs";

export const IDEAL_MODEL =
  "ideal launch(N) = floor A(N) + max(floor B, N × (b + c) / cores): srun must start the tasks (floor A), one node must start its " +
  "container until it can serve remote commands (floor B: sshd's banner with --remote=sshd, the container's first process with the agent), " +
  "and when N nodes share the cores no schedule beats their total CPU work over the cores; b = the machine's busy CPU seconds during " +
  "floor B (daemon, runc, sshd; median), c = the tool's CPU seconds per node (with its docker CLI children; median)";

export function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  const r = (x) => Math.round(x * 1000) / 1000;
  return { min: r(v[0]), median: r(mid), max: r(v.at(-1)) };
}

const round = (x, digits) => Math.round(x * 10 ** digits) / 10 ** digits;

/** One row: a mode and a node count, from its floors and launches. */
export function summarizeLaunches({ remote, nodes, runs, floorA, floorB, launches, cores }) {
  const a = stats(floorA);
  const b = stats(floorB.map((x) => x.up));
  const launch = stats(launches.map((x) => x.launch));
  const cpu = launches.flatMap((x) => x.cpu);
  const cpuPerNode = stats(cpu.map((c) => c.cpuSeconds));
  // Ideal: see IDEAL_MODEL. With N ≤ cores it is floor A + floor B.
  const work = stats(floorB.map((x) => x.cpu)).median + cpuPerNode.median;
  const ideal = a.median + Math.max(b.median, (nodes * work) / cores);
  const phases = {};
  for (const x of launches) {
    for (const p of Object.values(x.nodes)) {
      for (const key of ["prepare", "containersUp", "job", "teardown"]) {
        phases[`${p.role}.${key}`] ??= [];
        phases[`${p.role}.${key}`].push(p[key]);
      }
    }
  }
  return {
    remote,
    nodes,
    runs,
    floorA: a,
    floorB: b,
    launch,
    teardown: stats(launches.map((x) => x.teardown)),
    total: stats(launches.map((x) => x.total)),
    launchOverFloors: round(launch.median / (a.median + b.median), 2),
    launchMinusFloors: round(launch.median - (a.median + b.median), 3),
    idealLaunch: round(ideal, 3),
    launchOverIdeal: round(launch.median / ideal, 2),
    tool: {
      cpuSecondsPerNode: cpuPerNode,
      maxRssMiB: stats(cpu.map((c) => c.maxRssMiB)),
      phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, stats(v)])),
    },
  };
}

const fmt = (s) => `${s.min.toFixed(2)} / ${s.median.toFixed(2)} / ${s.max.toFixed(2)}`;

/** Prints the tables and the JSON, and writes the JSON to bench-results.json. */
export function printReport(summary) {
  const { results } = summary;
  const lines = [
    "| remote | N | floor A: srun hostname | floor B: docker run → ready | launch | teardown | total | launch ÷ (A+B) | ideal launch | launch ÷ ideal | tool CPU s/node | tool max RSS MiB |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.remote} | ${r.nodes} | ${fmt(r.floorA)} | ${fmt(r.floorB)} | ${fmt(r.launch)} | ${fmt(r.teardown)} | ${fmt(r.total)} | ${r.launchOverFloors.toFixed(2)} | ${r.idealLaunch.toFixed(2)} | ${r.launchOverIdeal.toFixed(2)} | ${fmt(r.tool.cpuSecondsPerNode)} | ${r.tool.maxRssMiB.median.toFixed(0)} |`,
    );
  }
  console.log("Times in seconds, min / median / max; ratios of medians.\n");
  console.log(lines.join("\n"));
  console.log(
    `\n${Object.entries(summary.scaling)
      .map(([k, v]) => `${k} = ${v}`)
      .join("; ")}`,
  );
  console.log("\nRemote commands from the master's container to the second node (N=2):\n");
  console.log("| remote | `ssh node2 true` s | bulk output MB/s |\n|---|---|---|");
  for (const [mode, m] of Object.entries(summary.remoteCommands)) {
    console.log(`| ${mode} | ${fmt(m.sshTrueSeconds)} | ${m.bulkMBPerSecond.median.toFixed(0)} |`);
  }
  console.log("\nPer-node phases reported by the tool (median s):\n");
  console.log("| remote | N | role | prepare | containers up | job | teardown |\n|---|---|---|---|---|---|---|");
  for (const r of results) {
    for (const role of ["master", "worker"]) {
      const p = (k) => r.tool.phases[`${role}.${k}`]?.median.toFixed(2) ?? "-";
      console.log(
        `| ${r.remote} | ${r.nodes} | ${role} | ${p("prepare")} | ${p("containersUp")} | ${p("job")} | ${p("teardown")} |`,
      );
    }
  }
  console.log(`\n${summary.idealModel}\n`);
  const json = JSON.stringify(summary, null, 2);
  console.log(json);
  writeFileSync("bench-results.json", `${json}\n`);
  writeFileSync("bench-results.svg", launchChart(results));
  console.error("bench: wrote bench-results.json and bench-results.svg");
}

/** Launch and teardown against N for each mode, with the floor (A + B) each launch is held to. */
export function launchChart(results) {
  const modes = [...new Set(results.map((r) => r.remote))];
  const series = [];
  for (const mode of modes) {
    const mine = results.filter((r) => r.remote === mode);
    series.push({ name: `launch (${mode})`, points: mine.map((r) => [r.nodes, r.launch.median]) });
    series.push({ name: `teardown (${mode})`, points: mine.map((r) => [r.nodes, r.teardown.median]), dashed: true });
  }
  const floors = results.filter((r) => r.remote === modes[0]);
  series.push({
    name: "floor A + B",
    points: floors.map((r) => [r.nodes, r.floorA.median + r.floorB.median]),
    dashed: true,
  });
  return lineChart({
    title: "srun-docker: launch and teardown (median s)",
    xLabel: "nodes",
    yLabel: "seconds",
    series,
    logX: true,
  });
}
