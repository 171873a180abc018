// Whole jobs with the single executable (dist/srun-docker, Node inside) in ~/bin instead of the
// .cjs bundle: what users drop on a shared home for compute nodes without Node.js. srun starts
// it by absolute path, so no `node` on any PATH takes part.
import { openSync, readSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { clusterProfile, clusterSize, IMAGE, leftoversOn, runAs, USERS } from "./cluster.js";
import { nothingLeftOn, runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "carol";
const UID = USERS.carol;
let ws: Workspace;
let tool: string;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  ws = createWorkspace(USER, UID, "sea");
  tool = `${ws.home}/bin/srun-docker`;
  const head = Buffer.alloc(4);
  readSync(openSync(tool, "r"), head, 0, 4, 0);
  // An ELF file, not a `#!/usr/bin/env node` script: the kernel runs it without any node.
  expect(head.toString("latin1")).toBe("\x7fELF");
});

function inDir(cmd: string): string {
  return `cd ${ws.dir} && ${cmd}`;
}

describe("the single executable runs whole jobs", () => {
  test("mpirun across two nodes, the script's exit code back through srun, nothing left", async () => {
    ws.write("mpi.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" hostname\nexit 3\n', 0o755);
    const r = await runAs(USER, inDir(`salloc -N 2 srun ${tool} --container=${IMAGE} --script=./mpi.sh`));
    expect(r.code, r.stderr).toBe(3);
    const names = r.stdout.split("\n").filter((l) => /^node\d$/.test(l));
    expect(new Set(names).size, r.stdout).toBe(2);
    expect(await leftoversOn([1, 2, 3, 4].slice(0, clusterSize()), UID)).toEqual({ containers: [], processes: [] });
  });

  test("scancel ends the job on every node and leaves nothing", async () => {
    expect(clusterProfile(), "no Epilog may clean up for us: bash test/cluster/cluster.sh profile strict").toBe(
      "strict",
    );
    ws.write("sleep.sh", '#!/bin/bash\nmpirun -H "$hostlist" -np "$np" sleep 300\n', 0o755);
    const sub = await runAs(USER, inDir(`sbatch -N 2 --wrap='srun ${tool} --container=${IMAGE} --script=./sleep.sh'`));
    expect(sub.code, sub.stderr).toBe(0);
    const { id, nodes } = await runningJob(USER, UID, 2, /sleep 300/);
    const t0 = Date.now();
    expect((await runAs(USER, `scancel ${id}`)).code).toBe(0);
    await nothingLeftOn(nodes, UID, t0);
  });
});
