// The shipped examples (examples/), run as a user would run them: copied into the user's
// directory on the shared home, started with salloc + srun on two nodes of the cluster, on
// images without sshd or an ssh client (the agent carries mpirun's remote launches).
// The Horovod and DeepSpeed examples need GPU images from a registry and are not run here.
import { chownSync, cpSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  clusterSize,
  inNode,
  leftovers,
  NOSSH_IMAGE,
  REPO,
  run,
  runAs,
  startAs,
  TORCH_NOSSH_IMAGE,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "dave";
const UID = USERS.dave;
// salloc may wait for other suites' jobs to free nodes, and torch is slow to import.
const JOB_TIMEOUT_MS = 300_000;

let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  ws = createWorkspace(USER, UID);
  for (const example of ["mpi", "pytorch-ddp", "checkpoint"])
    copyAsUser(path.join(REPO, "examples", example), path.join(ws.dir, example));
});

function copyAsUser(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const chownTree = (p: string): void => {
    chownSync(p, UID, UID);
    if (statSync(p).isDirectory()) for (const entry of readdirSync(p)) chownTree(path.join(p, entry));
  };
  chownTree(to);
}

function inExample(example: string, cmd: string): string {
  return `cd ${ws.dir}/${example} && ${cmd}`;
}

async function expectNothingLeft(): Promise<void> {
  expect(await leftovers(2, UID)).toEqual({ containers: [], processes: [] });
}

interface RankLosses {
  host: string;
  losses: number[];
}

/**
 * Per rank, from train.py's `[host rank R/W local L] step S loss X` lines, in step order;
 * torchrun's tee prefixes them with `[default0]:`.
 */
function parseLosses(stdout: string): Map<number, RankLosses> {
  const ranks = new Map<number, RankLosses>();
  for (const m of stdout.matchAll(
    /^(?:\[default\d+\]:)?\[(\S+) rank (\d+)\/\d+ local \d+\] step (\d+) loss ([\d.eE+-]+)$/gm,
  )) {
    const rank = Number(m[2]);
    const entry = ranks.get(rank) ?? { host: m[1] ?? "", losses: [] };
    entry.losses[Number(m[3])] = Number(m[4]);
    ranks.set(rank, entry);
  }
  return ranks;
}

function expectFallingLossOnTwoNodes(stdout: string, world: number): void {
  const ranks = parseLosses(stdout);
  expect([...ranks.keys()].sort(), stdout).toEqual(Array.from({ length: world }, (_, i) => i));
  for (const [rank, { losses }] of ranks) {
    const first = losses[0];
    const last = losses[losses.length - 1];
    expect(first, `rank ${rank} printed step 0`).toBeDefined();
    expect(last, `rank ${rank}: loss ${first} -> ${last}`).toBeLessThan((first ?? 0) / 2);
  }
  expect(new Set([...ranks.values()].map((r) => r.host)).size).toBe(2);
  expect(stdout).toMatch(new RegExp(`^(?:\\[default0\\]:)?training done: ${world} ranks`, "m"));
}

describe("examples/mpi", () => {
  test("allreduce over mpi4py on 2 nodes x 2 slots prints allreduce OK", async () => {
    const r = await runAs(
      USER,
      inExample("mpi", `salloc -N 2 srun srun-docker --container=${NOSSH_IMAGE} --script=./job.sh --slots_per_node=2`),
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hostlist=node\d:2,node\d:2 np=4$/m);
    expect(r.stdout).toContain("allreduce OK: 6 == 6");
    await expectNothingLeft();
  });
});

describe("examples/pytorch-ddp", () => {
  beforeAll(async () => {
    const r = await inNode(1, ["docker", "image", "inspect", "-f", "{{.Id}}", TORCH_NOSSH_IMAGE]);
    expect(
      r.code,
      `${TORCH_NOSSH_IMAGE} is missing on node1: bring the cluster up again (cluster.sh up imports it)`,
    ).toBe(0);
  });

  test("torchrun on every node (--launcher=each): loss falls on every rank of both nodes", async () => {
    const r = await runAs(
      USER,
      inExample(
        "pytorch-ddp",
        `salloc -N 2 srun srun-docker --container=${TORCH_NOSSH_IMAGE} --script=./job-each.sh --launcher=each --slots_per_node=2`,
      ),
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^node [01] of 2 on node\d: 2 ranks/gm)).toHaveLength(2);
    expectFallingLossOnTwoNodes(r.stdout, 4);
    await expectNothingLeft();
  });

  test("mpirun (ssh is the agent) with Open MPI's ranks mapped to RANK/WORLD_SIZE/LOCAL_RANK: loss falls on both nodes", async () => {
    const r = await runAs(
      USER,
      inExample(
        "pytorch-ddp",
        `salloc -N 2 srun srun-docker --container=${TORCH_NOSSH_IMAGE} --script=./job-mpirun.sh --slots_per_node=2`,
      ),
      JOB_TIMEOUT_MS,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^hostlist=node\d:2,node\d:2 np=4 master=node\d:\d+$/m);
    expectFallingLossOnTwoNodes(r.stdout, 4);
    // Open MPI's local ranks reached PyTorch: 0 and 1 on each node.
    expect([...r.stdout.matchAll(/ local (\d)\] step 0 /g)].map((m) => m[1]).sort()).toEqual(["0", "0", "1", "1"]);
    await expectNothingLeft();
  });
});

describe("examples/checkpoint", () => {
  /** One run of job-each.sh on 2 nodes, stopped by `scancel --signal=USR1` once both ranks train. */
  async function runUntilCheckpoint(name: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
    const job = startAs(
      USER,
      inExample(
        "checkpoint",
        `salloc -N 2 -J ${name} srun srun-docker --container=${TORCH_NOSSH_IMAGE} --script=./job-each.sh --launcher=each`,
      ),
      JOB_TIMEOUT_MS,
    );
    await waitFor(
      "both ranks to train",
      async () => job.output().match(/training from step/g)?.length === 2,
      JOB_TIMEOUT_MS,
    );
    const id = (await run("squeue", ["-h", "-u", USER, "-n", name, "-o", "%i"])).stdout.trim();
    expect((await run("scancel", ["--signal=USR1", id])).code).toBe(0);
    return job.result;
  }

  test("SIGUSR1 from Slurm: rank 0 saves, both exit 0; the next run resumes from the checkpoint", async () => {
    const first = await runUntilCheckpoint("ckpt-first");
    expect(first.code, first.stderr).toBe(0);
    const saved = Number(/rank 0\] checkpoint saved at step (\d+)/.exec(first.stdout)?.[1]);
    expect(saved).toBeGreaterThan(0);
    expect(first.stdout.match(/stopping at step \d+ as asked/g)).toHaveLength(2);
    await expectNothingLeft();

    const second = await runUntilCheckpoint("ckpt-second");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.match(new RegExp(`resumed from step ${saved}\\b`, "g"))).toHaveLength(2);
    expect(Number(/rank 0\] checkpoint saved at step (\d+)/.exec(second.stdout)?.[1])).toBeGreaterThan(saved);
    await expectNothingLeft();
  });
});
