// One measurement each: floor A (bare srun), floor B (one container until it can serve remote
// commands, per mode), a whole srun-docker job, and remote commands inside a job (ssh round
// trip, bulk output), parsed from the stamps and the tool's own phase lines.
import { leftovers, stamped } from "./cluster-user.mjs";

const IMAGE = process.env.SDTC_IMAGE ?? "srun-docker-test:latest";
const NOSSH_IMAGE = process.env.SDTC_NOSSH_IMAGE ?? "srun-docker-test-nossh:latest";

/**
 * How each mode runs: the ssh launcher with the agent on the image without sshd, with sshd on
 * the image with it, and the srun launcher (Slurm starts the ranks, one per node here).
 */
export const REMOTES = {
  agent: { image: NOSSH_IMAGE, args: "--remote=agent" },
  sshd: { image: IMAGE, args: "--remote=sshd" },
  srun: { image: NOSSH_IMAGE, args: "--launcher=srun", launcher: "srun" },
};

const PHASE_LINE =
  /\[(node\d+) (master|worker)\] prepare ([\d.]+)s, containers up ([\d.]+)s, job ([\d.]+)s, teardown ([\d.]+)s; exit (\d+)/;
const TIME_LINE = /^(?:\s*(\d+): )?BENCH_TIME ([\d.]+) ([\d.]+) (\d+)$/;

export async function floorA(ctx, n) {
  const r = await stamped(ctx.user, ctx.dir, `srun -N ${n} hostname >/dev/null`);
  if (r.code !== 0) throw new Error(`srun -N ${n} hostname failed: ${r.stderr.trim()}`);
  return r.E - r.S;
}

export async function floorB(ctx, remote, attempt) {
  const port = 30000 + (ctx.ids.uid % 100) * 50 + (attempt % 50);
  const dir = remote === "sshd" ? ctx.sshd : ctx.dir;
  const r = await stamped(
    ctx.user,
    ctx.dir,
    `srun -N 1 -w node1 node floor-b.mjs ${remote} ${dir} ${port} ${REMOTES[remote].image} ${ctx.ids.uid} ${ctx.ids.gid}`,
  );
  const m = /FLOORB (\{.*\})/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`floor B failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return JSON.parse(m[1]);
}

export async function srunDocker(ctx, n, remote) {
  const time = `/usr/bin/time -f 'BENCH_TIME %U %S %M'`;
  const { image, args, launcher } = REMOTES[remote];
  // The srun launcher's ranks print their own hostnames; rank 0 stamps the start and the end.
  const command =
    launcher === "srun"
      ? `srun -N ${n} --ntasks-per-node=1 --mpi=pmix --label ${time} srun-docker --container=${image} ${args} -- ./srun-job.sh`
      : `srun -N ${n} --label ${time} srun-docker --container=${image} ${args} --script=./job.sh --slots-per-node=1`;
  const r = await stamped(ctx.user, ctx.dir, command);
  if (r.code !== 0 || !Number.isFinite(r.T0) || !Number.isFinite(r.T1)) {
    throw new Error(`srun-docker on ${n} nodes failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  const left = await leftovers(ctx.size, ctx.ids.uid);
  if (left.length > 0) throw new Error(`containers left after srun returned: ${left.join(", ")}`);
  const hostLine = launcher === "srun" ? /^\s*\d+: node\d+$/ : /^\s*0: node\d+$/;
  const hosts = r.stdout.split("\n").filter((l) => hostLine.test(l)).length;
  if (hosts !== n) throw new Error(`the job printed ${hosts} hostnames, expected ${n}:\n${r.stdout}`);
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

/** `ssh peer true` ten times and 200 MB of `ssh peer head -c` from the master's container. */
export async function remoteCommands(ctx, remote) {
  const { image, args } = REMOTES[remote];
  const r = await stamped(ctx.user, ctx.dir, `srun -N 2 srun-docker --container=${image} ${args} --script=./remote.sh`);
  const trips = [...r.stdout.matchAll(/^BENCH_SSH ([\d.]+) ([\d.]+)$/gm)].map((m) => Number(m[2]) - Number(m[1]));
  const bulk = /^BENCH_BULK (\d+) ([\d.]+) ([\d.]+)$/m.exec(r.stdout);
  if (r.code !== 0 || trips.length !== 10 || !bulk || Number(bulk[1]) !== 200_000_000) {
    throw new Error(`remote commands (${remote}) failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return { trips, mbPerSecond: 200 / (Number(bulk[3]) - Number(bulk[2])) };
}
