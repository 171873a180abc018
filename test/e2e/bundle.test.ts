// Whole jobs with the .cjs bundle (what the npm package's bin runs, on nodes with Node.js) in
// ~/bin instead of the single executable that the other suites install: with --remote=sshd it
// needs nothing more; with --remote=agent (the default) the containers get the single
// executable when one lies beside it, else the bundle and the Node running it.
import { chmodSync, chownSync, copyFileSync, renameSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { clusterSize, IMAGE, leftoversOn, NOSSH_IMAGE, runAs, USERS } from "./cluster.js";
import { createWorkspace, SEA, type Workspace } from "./workspace.js";

const USER = "carol";
const UID = USERS.carol;
let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  ws = createWorkspace(USER, UID, "bundle");
  ws.write("mpi.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" hostname\nexit 3\n', 0o755);
});

const inDir = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const nothingLeft = async () => expect(await leftoversOn([1, 2], UID)).toEqual({ containers: [], processes: [] });

describe("the .cjs bundle", () => {
  test("--remote=sshd: mpirun across two nodes, the script's exit code back through srun", async () => {
    const r = await runAs(
      USER,
      inDir(`salloc -N 2 -w node[1-2] srun srun-docker --container=${IMAGE} --remote=sshd --script=./mpi.sh`),
    );
    expect(r.code, r.stderr).toBe(3);
    expect(new Set(r.stdout.split("\n").filter((l) => /^node\d$/.test(l))).size, r.stdout).toBe(2);
    await nothingLeft();
  });

  test("--remote=agent from the bundle alone, installed as plain srun-docker: the Node running it is mounted with it", async () => {
    const r = await runAs(
      USER,
      inDir(`salloc -N 2 -w node[1-2] srun srun-docker --container=${NOSSH_IMAGE} --script=./mpi.sh --debug`),
    );
    expect(r.code, r.stderr).toBe(3);
    expect(new Set(r.stdout.split("\n").filter((l) => /^node\d$/.test(l))).size, r.stdout).toBe(2);
    // The bundle, not a single executable, is what the containers ran.
    expect(r.stderr).toContain(":/opt/srun-docker/lib/srun-docker.cjs:ro");
    await nothingLeft();
  });

  test("--remote=agent with the single executable beside the bundle (dist's layout): it is mounted", async () => {
    const bin = `${ws.home}/bin`;
    for (const [from, to] of [
      [`${bin}/srun-docker`, `${bin}/srun-docker.cjs`],
      [SEA, `${bin}/srun-docker.new`],
    ] as const) {
      copyFileSync(from, to);
      chownSync(to, UID, UID);
      chmodSync(to, 0o755);
    }
    renameSync(`${bin}/srun-docker.new`, `${bin}/srun-docker`);
    const r = await runAs(
      USER,
      inDir(`salloc -N 2 -w node[1-2] srun srun-docker.cjs --container=${NOSSH_IMAGE} --script=./mpi.sh`),
    );
    expect(r.code, r.stderr).toBe(3);
    expect(new Set(r.stdout.split("\n").filter((l) => /^node\d$/.test(l))).size, r.stdout).toBe(2);
    await nothingLeft();
  });
});
