// One measurement each: floor A (bare srun), floor B (one container until its sshd answers)
// and a whole srun-docker job, parsed from the stamps and the tool's own phase lines.
import { leftovers, stamped } from "./cluster-user.mjs";

export const IMAGE = process.env.SDTC_IMAGE ?? "srun-docker-test:latest";

const PHASE_LINE =
  /\[(node\d+) (master|worker)\] prepare ([\d.]+)s, containers up ([\d.]+)s, job ([\d.]+)s, teardown ([\d.]+)s; exit (\d+)/;
const TIME_LINE = /^(?:\s*(\d+): )?BENCH_TIME ([\d.]+) ([\d.]+) (\d+)$/;

export async function floorA(ctx, n) {
  const r = await stamped(ctx.user, ctx.dir, `srun -N ${n} hostname >/dev/null`);
  if (r.code !== 0) throw new Error(`srun -N ${n} hostname failed: ${r.stderr.trim()}`);
  return r.E - r.S;
}

export async function floorB(ctx, attempt) {
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

export async function srunDocker(ctx, n) {
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
