// `npm run bench -- --named`: what a step adds to a bare `srun` when it runs in the job's named
// container (`--container-name`, reused: exec, no `docker run`), beside a step that starts its
// own container, at N=2 with one task per node. All in one allocation: its first step creates
// the container, then each round times a bare `srun hostname`, srun-docker's own start
// (`--version`), a bare `docker exec` into the named container, a reusing step and a fresh one,
// one after the other, from this machine's clock (`date +%s.%N` in the salloc shell).
import { stats } from "./report.mjs";

const NOSSH_IMAGE = process.env.SDTC_NOSSH_IMAGE ?? "srun-docker-test-nossh:latest";

/** The salloc script: one `STAMP <what> <start> <end>` line per timed step. */
function allocationScript(n, runs) {
  const tool = `srun-docker --launcher=srun --container=${NOSSH_IMAGE}`;
  const timed = (what, command) =>
    `s=$(date +%s.%N); ${command} >/dev/null || exit 1; echo "STAMP ${what} $s $(date +%s.%N)"`;
  const srun = `srun -N ${n} --ntasks-per-node=1`;
  return [
    `${srun} ${tool} --container-name=bench -- true || exit 1`,
    `for i in $(seq ${runs}); do`,
    `  ${timed("bare", `${srun} hostname`)}`,
    `  ${timed("tool", `${srun} srun-docker --version`)}`,
    `  ${timed("exec", `${srun} sh -c "docker exec srun-docker-\\$USER-\\$SLURM_JOB_ID.name-bench-\\$(hostname) hostname"`)}`,
    `  ${timed("reuse", `${srun} ${tool} --container-name=bench -- hostname`)}`,
    `  ${timed("fresh", `${srun} ${tool} -- hostname`)}`,
    "done",
  ].join("\n");
}

/** Times of each kind of step, in seconds. */
export async function benchNamed(ctx, stamped, n, runs) {
  const script = allocationScript(n, runs);
  const r = await stamped(
    ctx.user,
    ctx.dir,
    `salloc -N ${n} -w node[1-${n}] sh -c '${script.replaceAll("'", "'\\''")}'`,
  );
  const times = { bare: [], tool: [], exec: [], reuse: [], fresh: [] };
  for (const m of r.stdout.matchAll(/^STAMP (\w+) ([\d.]+) ([\d.]+)$/gm))
    times[m[1]]?.push(Number(m[3]) - Number(m[2]));
  if (r.code !== 0 || times.reuse.length !== runs) {
    throw new Error(`the named-container bench failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return { n, runs, times };
}

const fmt = (s) => s.toFixed(2);
const row = (label, t, bare) => {
  const s = stats(t);
  const added = bare === undefined ? "—" : `+${fmt(s.median - stats(bare).median)}`;
  return `| ${label} | ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} | ${added} |`;
};

/** The table for docs/benchmark.md, and the figure for the README. */
export function printNamedReport({ n, runs, times }) {
  console.log(`Seconds per step at N=${n}, one task per node, min / median / max over ${runs} rounds:\n`);
  console.log("| step | time (s) | added to bare srun (median, s) |");
  console.log("|---|---|---|");
  console.log(row("bare `srun hostname`", times.bare));
  console.log(row("`srun-docker --version` (the tool's own start)", times.tool, times.bare));
  console.log(row("`docker exec` into that container, without srun-docker", times.exec, times.bare));
  console.log(row("`--container-name`, reusing the job's container", times.reuse, times.bare));
  console.log(row("its own container (no name)", times.fresh, times.bare));
  const added = stats(times.reuse).median - stats(times.bare).median;
  return [[`named: a step reusing its container at N=${n}`, `+${fmt(added)} s over a bare srun (median of ${runs})`]];
}
