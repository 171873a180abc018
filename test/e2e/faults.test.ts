// Faults, cancellation and isolation on the real cluster. Every case prints its measured
// figure as `FIGURE | case | value` (seconds to clean, leftovers counted on every node).
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  ALICE_UID,
  CLUSTER_SH,
  IMAGE,
  cancelAllJobs,
  clusterSize,
  figure,
  findHeadProcesses,
  findNodeProcesses,
  inNode,
  jobNodes,
  leftoversOn,
  nodeContainers,
  run,
  runAs,
  startAs,
  waitFor,
} from "./cluster.js";
import { type Workspace, createWorkspace } from "./workspace.js";

let ws: Workspace;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(4);
  ws = createWorkspace("alice", ALICE_UID);
  ws.write("long.sh", '#!/bin/bash\necho "started $(hostname)"\nmpirun -H "$hostlist" -np "$np" sleep 300\n', 0o755);
  ws.write("quick.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" hostname\n', 0o755);
});

// A failed case must not leave its job running into the next one.
afterEach(async () => {
  await cancelAllJobs("alice", ALICE_UID, [1, 2, 3, 4]);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const tool = (args: string) => `srun-docker --container=${IMAGE} ${args}`;

/** The newest job of alice's, once it runs with a container on each of its nodes. */
async function runningJob(n: number): Promise<{ id: string; nodes: number[] }> {
  return waitFor(
    `a running job with ${n} containers`,
    async () => {
      const r = await run("squeue", ["-h", "-u", "alice", "-t", "R", "-o", "%A", "--sort=-i"]);
      const id = r.stdout.split("\n")[0]?.trim();
      if (!id) return undefined;
      const nodes = await jobNodes(id);
      if (nodes.length !== n) return undefined;
      for (const k of nodes) {
        if ((await nodeContainers(k, `label=srun-docker.job=${id}`)).length === 0) return undefined;
        // sshd answers and the job's mpirun reached the worker: the job is really running.
        if ((await findNodeProcesses(k, ALICE_UID, /sleep 300/)).length === 0) return undefined;
      }
      return { id, nodes };
    },
    60_000,
    200,
  );
}

async function nothingLeftOn(nodes: number[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(
    `no container or process left on nodes ${nodes.join(",")}`,
    async () => {
      const left = await leftoversOn(nodes);
      return left.containers.length === 0 && left.processes.length === 0;
    },
    timeoutMs,
    100,
  );
  return Date.now() - started;
}

describe.each([2, 4])("cancellation at N=%i", (n) => {
  test("scancel: every container and process gone within 10 s, sbatch ends", async () => {
    ws.write(`cancel-${n}.sbatch`, `#!/bin/bash\n#SBATCH -N ${n}\n#SBATCH -o ${ws.dir}/cancel-%j.out\nsrun ${tool("--script=./long.sh")}\n`);
    const submit = await runAs("alice", cd(`sbatch --parsable cancel-${n}.sbatch`));
    expect(submit.code, submit.stderr).toBe(0);
    const job = await runningJob(n);
    const t0 = Date.now();
    await runAs("alice", `scancel ${job.id}`);
    const clean = await nothingLeftOn(job.nodes, 15_000);
    const elapsed = Date.now() - t0;
    figure(`scancel N=${n}`, `clean after ${seconds(elapsed)}, leftovers 0`);
    expect(elapsed).toBeLessThan(10_000);
    expect(clean).toBeGreaterThanOrEqual(0);
    await waitFor("the job to leave squeue", async () => (await run("squeue", ["-h", "-j", job.id])).stdout.trim() === "", 30_000);
  });

  test("Ctrl-C on the foreground srun: same result", async () => {
    const fg = startAs("alice", cd(`salloc -N ${n} srun ${tool("--script=./long.sh")}`));
    const job = await runningJob(n);
    const [srun] = await findHeadProcesses(ALICE_UID, /^srun /);
    expect(srun, "the foreground srun").toBeDefined();
    const t0 = Date.now();
    // srun wants two Ctrl-C within a second to cancel the step.
    process.kill(srun ?? -1, "SIGINT");
    await new Promise((r) => setTimeout(r, 300));
    process.kill(srun ?? -1, "SIGINT");
    await nothingLeftOn(job.nodes, 15_000);
    const elapsed = Date.now() - t0;
    const result = await fg.result;
    figure(`Ctrl-C N=${n}`, `clean after ${seconds(elapsed)}, salloc exit ${result.code}`);
    expect(elapsed).toBeLessThan(10_000);
    expect(result.code).not.toBe(0);
  });
});

describe.each([2, 4])("a node's srun-docker killed at N=%i", (n) => {
  test("kill -9 on a worker: the master names it within 10 s; the Epilog removes its container", async () => {
    const fg = startAs("alice", cd(`salloc -N ${n} srun ${tool("--script=./long.sh")}`));
    const job = await runningJob(n);
    const worker = job.nodes[n - 1] ?? 0;
    const [pid] = await findNodeProcesses(worker, ALICE_UID, /srun-docker --container/);
    expect(pid).toBeDefined();
    const t0 = Date.now();
    process.kill(pid ?? -1, "SIGKILL");
    const result = await fg.result;
    const noticed = Date.now() - t0;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`node${worker} was lost`));
    // The container the killed process left is removed by the Slurm Epilog once the job ends.
    const epilog = await nothingLeftOn(job.nodes, 30_000);
    figure(`kill -9 worker N=${n}`, `master exited after ${seconds(noticed)} naming node${worker}; Epilog cleaned ${seconds(epilog)} later`);
    expect(noticed).toBeLessThan(10_000);
  });

  test("kill -9 on the master: every worker leaves within 10 s", async () => {
    const fg = startAs("alice", cd(`salloc -N ${n} srun ${tool("--script=./long.sh")}`));
    const job = await runningJob(n);
    const [master, ...workers] = job.nodes as [number, ...number[]];
    const [pid] = await findNodeProcesses(master, ALICE_UID, /srun-docker --container/);
    const t0 = Date.now();
    process.kill(pid ?? -1, "SIGKILL");
    await nothingLeftOn(workers, 15_000);
    const workerGone = Date.now() - t0;
    await fg.result;
    const all = await nothingLeftOn(job.nodes, 30_000);
    figure(`kill -9 master N=${n}`, `workers clean after ${seconds(workerGone)}; master's container removed by the Epilog ${seconds(all)} after salloc ended`);
    expect(workerGone).toBeLessThan(10_000);
  });
});

describe("a node that cannot take part", () => {
  test("the image is missing on one node: one error naming it, exit 1, nothing left", async () => {
    const only = "srun-docker-test:only-node1";
    await inNode(1, ["docker", "tag", IMAGE, only]);
    try {
      const r = await runAs("alice", cd(`salloc -N 2 -w node[1-2] srun srun-docker --container=${only} --script=./quick.sh --timeout=30`));
      figure("image missing on node2", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/node2.*not present on node2/);
      expect(r.ms).toBeLessThan(30_000);
      expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
    } finally {
      await inNode(1, ["docker", "rmi", only]);
    }
  });

  test("the docker daemon is stopped on one node: one error naming it, exit 1, nothing left", async () => {
    await run("bash", [CLUSTER_SH, "stop-docker", "2"]);
    try {
      const r = await runAs("alice", cd(`salloc -N 2 -w node[1-2] srun ${tool("--script=./quick.sh --timeout=30")}`));
      figure("dockerd down on node2", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/node2: .*docker is not usable on node2/);
      expect(r.ms).toBeLessThan(30_000);
    } finally {
      await run("bash", [CLUSTER_SH, "start-docker", "2"]);
    }
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("a worker whose sshd never answers: the deadline fires and names it", async () => {
    const port = 29_999;
    const rule = ["INPUT", "-i", "eth0", "-p", "tcp", "--dport", String(port), "-j", "DROP"];
    await run("ip", ["netns", "exec", "sdtc-node2", "iptables", "-I", ...rule]);
    try {
      const r = await runAs("alice", cd(`salloc -N 2 -w node[1-2] srun ${tool(`--script=./quick.sh --sshdport=${port}`)}`));
      figure("sshd silent on node2", `exit ${r.code} after ${seconds(r.ms)}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`node2:${port} did not answer`));
      expect(r.ms).toBeLessThan(30_000);
    } finally {
      await run("ip", ["netns", "exec", "sdtc-node2", "iptables", "-D", ...rule]);
    }
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });
});

describe("exit codes", () => {
  test.each([
    ["exit 3", "exit 3", 3],
    ["killed by SIGKILL", "kill -9 $$", 137],
  ])("script %s", async (_name, body, code) => {
    const file = `exit-${code}.sh`;
    ws.write(file, `#!/bin/bash\n${body}\n`, 0o755);
    const r = await runAs("alice", cd(`salloc -N 2 srun ${tool(`--script=./${file}`)}`));
    figure(`script ${body}`, `srun exit ${r.code}`);
    expect(r.code).toBe(code);
  });
});
