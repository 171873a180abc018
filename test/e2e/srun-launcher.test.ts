// --launcher=srun on the real cluster: Slurm starts every rank (srun --mpi=pmix), each task
// runs its program in its node's one container, on an image without sshd; no Epilog cleans up
// (strict profile).
import { chownSync, cpSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  ALICE_UID,
  clusterProfile,
  clusterSize,
  figure,
  findNodeProcesses,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  REPO,
  runAs,
  startAs,
  TORCH_NOSSH_IMAGE,
  waitFor,
} from "./cluster.js";
import { nothingLeftOn, runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;
const ALL = [1, 2, 3, 4];

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  expect(clusterProfile(), "no Epilog may clean up for us: SDTC_PROFILE=strict").toBe("strict");
  ws = createWorkspace("alice", ALICE_UID);
  for (const example of ["mpi", "pytorch-ddp"]) {
    const to = path.join(ws.dir, example);
    cpSync(path.join(REPO, "examples", example), to, { recursive: true });
    const chownTree = (p: string): void => {
      chownSync(p, ALICE_UID, ALICE_UID);
      if (statSync(p).isDirectory()) for (const e of readdirSync(p)) chownTree(path.join(p, e));
    };
    chownTree(to);
  }
});

const cd = (dir: string, cmd: string) => `cd ${ws.dir}/${dir} && ${cmd}`;
/** N nodes × 2 tasks, ranks started by srun with PMIx, the program after `--`. */
const step = (n: number, program: string, srunArgs = "", image = NOSSH_IMAGE) =>
  `salloc -N ${n} -w node[1-${n}] --ntasks-per-node=2 -O srun --mpi=pmix ${srunArgs} srun-docker --launcher=srun --container=${image} -- ${program}`;

async function containersOf(job: string): Promise<number[]> {
  const counts: number[] = [];
  for (const k of ALL) {
    const r = await inNode(k, ["docker", "ps", "-q", "--filter", `label=srun-docker.job=${job}`]);
    counts.push(r.stdout.split("\n").filter(Boolean).length);
  }
  return counts;
}

describe.each([2, 4])("srun --mpi=pmix, N=%i x 2 tasks", (n) => {
  test("mpi4py allreduce: right sum, ranks on every node, one container per node, none after", async () => {
    ws.write("mpi/hold.sh", "#!/bin/sh\npython3 allreduce.py && sleep 2\n", 0o755);
    const job = startAs("alice", cd("mpi", step(n, "./hold.sh", "-l")));
    const { id } = await runningJob("alice", ALICE_UID, n, /allreduce\.py|sleep 2/);
    const counts = await containersOf(id);
    const r = await job.result;
    expect(r.code, r.stderr).toBe(0);
    expect(counts.slice(0, n)).toEqual(Array(n).fill(1));
    const world = 2 * n;
    const ranks = [...r.stdout.matchAll(/^(\d+): rank (\d+)\/(\d+) on (node\d): allreduce sum = (\d+)$/gm)];
    expect(ranks).toHaveLength(world);
    for (const m of ranks) {
      // `srun -l` labels each line with its task, which is the MPI rank.
      expect(m[1]).toBe(m[2]);
      expect(Number(m[5])).toBe((world * (world - 1)) / 2);
    }
    expect(new Set(ranks.map((m) => m[4])).size).toBe(n);
    expect(r.stdout).toMatch(/^0: allreduce OK/m);
    figure(`srun launcher: mpi4py at N=${n} x 2`, `${(r.ms / 1000).toFixed(2)} s for the whole salloc`);
    expect(await leftoversOn(ALL, ALICE_UID)).toEqual({ containers: [], processes: [] });
  });
});

test("PyTorch DDP (gloo), ranks started by srun, no torchrun: loss falls on every rank", async () => {
  const r = await runAs(
    "alice",
    cd("pytorch-ddp", step(2, "python3 train.py --steps 30", "", TORCH_NOSSH_IMAGE)),
    300_000,
  );
  expect(r.code, r.stderr).toBe(0);
  const ranks = new Map<number, number[]>();
  for (const m of r.stdout.matchAll(/^\[(\S+) rank (\d+)\/4 local \d\] step (\d+) loss ([\d.eE+-]+)$/gm)) {
    const losses = ranks.get(Number(m[2])) ?? [];
    losses[Number(m[3])] = Number(m[4]);
    ranks.set(Number(m[2]), losses);
  }
  expect([...ranks.keys()].sort()).toEqual([0, 1, 2, 3]);
  for (const losses of ranks.values()) expect(losses.at(-1)).toBeLessThan((losses[0] ?? 0) / 2);
  expect(await leftoversOn(ALL, ALICE_UID)).toEqual({ containers: [], processes: [] });
});

test("one rank exits 3: srun names the task and fails; --kill-on-bad-exit ends the others; nothing left", async () => {
  ws.write("mpi/bad.sh", '#!/bin/sh\nif [ "$RANK" = 1 ]; then exit 3; fi\nexec sleep 60\n', 0o755);
  const r = await runAs("alice", cd("mpi", step(2, "./bad.sh", "--kill-on-bad-exit=1")));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/task 1: Exited with exit code 3/);
  expect(r.ms).toBeLessThan(30_000);
  expect(await leftoversOn(ALL, ALICE_UID)).toEqual({ containers: [], processes: [] });
});

test("a node whose container cannot start ends the step at once, naming the node", async () => {
  const r = await runAs("alice", cd("mpi", step(2, "python3 allreduce.py", "", "no-such-image:1 --pull=never")));
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/node[12] does not have the image no-such-image:1 \(--pull=never\)/);
  // Said by each failing node's first task at most, not by every task.
  const said = r.stderr.match(/^srun-docker: error: /gm) ?? [];
  expect(said.length).toBeGreaterThanOrEqual(1);
  expect(said.length).toBeLessThanOrEqual(2);
  expect(r.ms).toBeLessThan(30_000);
  expect(await leftoversOn(ALL, ALICE_UID)).toEqual({ containers: [], processes: [] });
});

test("srun --mpi=pmi2: one line for the whole step saying why, exit 2, nothing started", async () => {
  const r = await runAs("alice", cd("mpi", step(2, "python3 allreduce.py").replace("--mpi=pmix", "--mpi=pmi2")));
  expect(r.stderr.match(/^srun-docker: error: /gm)).toEqual(["srun-docker: error: "]);
  expect(r.stderr).toContain("`srun --mpi=pmi2` passes each task an open descriptor (PMI_FD)");
  expect(r.stderr).toMatch(/tasks 0-1: Exited with exit code 2/);
  expect(await leftoversOn(ALL, ALICE_UID)).toEqual({ containers: [], processes: [] });
});

test("scancel while the ranks run, 10 times: nothing left on any node", async () => {
  ws.write("mpi/long.sh", "#!/bin/sh\nexec sleep 300\n", 0o755);
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const job = startAs("alice", cd("mpi", step(2, "./long.sh")));
    const { id, nodes } = await runningJob("alice", ALICE_UID, 2, /sleep 300/);
    const t0 = Date.now();
    expect((await runAs("alice", `scancel ${id}`)).code).toBe(0);
    times.push(await nothingLeftOn(nodes, ALICE_UID, t0));
    await job.result;
    await waitFor(
      "the job to leave the queue",
      async () => (await runAs("alice", `squeue -h -j ${id}`)).stdout.trim() === "",
    );
  }
  times.sort((a, b) => a - b);
  figure("srun launcher: scancel, 10 runs", `nothing left after ${times[0]} / ${times[5]} / ${times[9]} ms`);
});

test("GPUs bound per task (as --gpus-per-task sets them): the container gets the step's, each task its own, renumbered", async () => {
  // What slurmstepd gives each task with --gpus-per-task=1 on a node whose step has GPUs 2 and 3;
  // the nodes' dockerd accepts --gpus through a stand-in NVIDIA hook.
  const perTask = 'export SLURM_STEP_GPUS=2,3 CUDA_VISIBLE_DEVICES=$((2 + SLURM_LOCALID)); exec srun-docker "$@"';
  const r = await runAs(
    "alice",
    cd(
      "mpi",
      `salloc -N 2 -w node[1-2] --ntasks-per-node=2 -O srun --mpi=pmix bash -c '${perTask}' task` +
        ` --launcher=srun --container=${NOSSH_IMAGE} --debug -- sh -c 'echo "gpu rank=$RANK local=$LOCAL_RANK cuda=$CUDA_VISIBLE_DEVICES"'`,
    ),
  );
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stdout
    .split("\n")
    .filter((l) => l.startsWith("gpu "))
    .sort();
  expect(lines).toEqual([
    "gpu rank=0 local=0 cuda=0",
    "gpu rank=1 local=1 cuda=1",
    "gpu rank=2 local=0 cuda=0",
    "gpu rank=3 local=1 cuda=1",
  ]);
  expect(r.stderr).toContain('--gpus "device=2,3"');
});

test("tasks Slurm bound to CPUs (task/affinity, --cpu-bind=cores) run their programs bound to them in the container", async () => {
  // slurmstepd binds each task (task/affinity); `docker exec` alone would start the program
  // unbound, under the engine. Two tasks on a node of two or more CPUs: one core each.
  const cpus = Number((await runAs("alice", "sinfo -h -n node1 -o %c")).stdout.trim());
  expect(cpus, "node1's CPUs (the machine's, slurm.conf)").toBeGreaterThanOrEqual(2);
  const show = `sh -c 'echo "cpus rank=$RANK $(grep Cpus_allowed_list /proc/self/status | cut -f2)"'`;
  const onNode1 = (cpuBind: string) =>
    cd(
      "mpi",
      `salloc -N 1 -w node1 --ntasks-per-node=2 srun --mpi=pmix --cpu-bind=${cpuBind}` +
        ` srun-docker --launcher=srun --container=${NOSSH_IMAGE} -- ${show}`,
    );
  const cpuLines = (stdout: string) =>
    stdout
      .split("\n")
      .filter((l) => l.startsWith("cpus "))
      .sort();
  const bound = await runAs("alice", onNode1("cores"));
  expect(bound.code, bound.stderr).toBe(0);
  expect(cpuLines(bound.stdout)).toEqual(["cpus rank=0 0", "cpus rank=1 1"]);
  // --cpu-bind=none: each task may use both of the step's CPUs, and so may its program.
  const unbound = await runAs("alice", onNode1("none"));
  expect(unbound.code, unbound.stderr).toBe(0);
  expect(cpuLines(unbound.stdout)).toEqual(["cpus rank=0 0-1", "cpus rank=1 0-1"]);
});

test("kill -9 of a node's first task: the dead man's switch ends its container, --kill-on-bad-exit the step; nothing left", async () => {
  ws.write("mpi/long.sh", "#!/bin/sh\nexec sleep 300\n", 0o755);
  const job = startAs("alice", cd("mpi", step(2, "./long.sh", "--kill-on-bad-exit=1")));
  const { nodes } = await runningJob("alice", ALICE_UID, 2, /sleep 300/);
  const node = nodes[0] ?? 1;
  const leader = await waitFor("node's first task", async () => {
    for (const pid of await findNodeProcesses(node, ALICE_UID, /bin\/srun-docker /)) {
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (environ.includes("SLURM_LOCALID=0")) return pid;
    }
    return undefined;
  });
  const t0 = Date.now();
  process.kill(leader, "SIGKILL");
  const ms = await nothingLeftOn(nodes, ALICE_UID, t0);
  figure("srun launcher: kill -9 of a node's first task", `nothing left after ${ms} ms`);
  expect((await job.result).code).not.toBe(0);
});
