// `npm run bench -- --pull[=MB]`: time to the job's first line for an image no node has, with
// every node pulling it (the default) and with --pull-once, at each N, and the bytes the registry
// served (its access log). Each run pushes a fresh image (scripts/bench/pull-image.mjs), so
// every run is cold, and removes it from every node afterwards. Optional: it needs the
// cluster's registry and moves a few hundred MB per run.
import { spawn } from "node:child_process";
import { chmodSync, chownSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fail } from "./cluster-user.mjs";
import { openRegistry, pushBenchImage, removeBenchImage, SCENARIOS, servedSince } from "./pull-image.mjs";
import { stats } from "./report.mjs";

export const MODES = { "per-node": "", "pull-once": "--pull-once" };
const FIRST_LINE = "BENCH_FIRST";

/** The job prints one line at once: the cold image has /bin/sh and nothing else. */
function writeFirstLineScript(dir, ids) {
  const file = path.join(dir, "first-line.sh");
  writeFileSync(file, `#!/bin/sh\necho ${FIRST_LINE}\n`);
  chmodSync(file, 0o755);
  chownSync(file, ids.uid, ids.gid);
}

/** One job, timed on this machine from srun's start to the first line it prints, and to its end. */
function timeJob(user, dir, command) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn("su", ["-", user, "-c", `cd ${dir} && ${command}`], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let first;
    child.stdout.on("data", (d) => {
      stdout += d;
      if (first === undefined && stdout.includes(FIRST_LINE)) first = performance.now();
    });
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const end = performance.now();
      resolve({
        code,
        stdout,
        stderr,
        firstLine: first === undefined ? undefined : (first - started) / 1000,
        total: (end - started) / 1000,
      });
    });
  });
}

export async function benchPulls(ctx, counts, runs, mb) {
  const reg = openRegistry();
  writeFirstLineScript(ctx.dir, ctx.ids);
  const rows = [];
  for (const scenario of SCENARIOS) {
    for (const n of counts) {
      for (const [mode, flag] of Object.entries(MODES)) {
        const firstLines = [];
        const served = [];
        let summary = "";
        for (let i = 0; i < runs; i++) {
          const image = await pushBenchImage(scenario, mb);
          try {
            const mark = statSync(reg.accessLog).size;
            const r = await timeJob(
              ctx.user,
              ctx.dir,
              `srun -N ${n} srun-docker --container=${image.ref} ${flag} --script=./first-line.sh`,
            );
            if (r.code !== 0 || r.firstLine === undefined)
              fail(`the ${mode} job on ${n} nodes failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
            firstLines.push(r.firstLine);
            served.push(servedSince(reg.accessLog, mark, image.repo).bytes / 1e6);
            summary = /^pulled .*$/m.exec(r.stderr)?.[0] ?? summary;
          } finally {
            await removeBenchImage(ctx.size, image.ref);
          }
          process.stderr.write(".");
        }
        process.stderr.write("\n");
        rows.push({
          scenario,
          nodes: n,
          mode,
          runs,
          imageMB: mb,
          firstLineSeconds: stats(firstLines),
          registryMB: stats(served),
          summary,
        });
      }
    }
  }
  return rows;
}

export function printPullReport(rows) {
  const fmt = (s, digits) => `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;
  console.log("| image | N | pulls | time to first line (s) | registry served (MB) |");
  console.log("|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.scenario}, ${r.imageMB} MB layer | ${r.nodes} | ${r.mode} | ${fmt(r.firstLineSeconds, 2)} | ${fmt(r.registryMB, 0)} |`,
    );
  console.log(`\n\`\`\`json\n${JSON.stringify({ pulls: rows }, null, 2)}\n\`\`\``);
}
