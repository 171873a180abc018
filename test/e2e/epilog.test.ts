// The Epilog line of the docs (`srun-docker clean --job "$SLURM_JOB_ID"` as root) still works
// as the second net: with the `default` profile for this file only, a container that no
// srun-docker watches over (as a killed older version, or a user's own `docker run` with our
// labels, would leave) is gone once its job ends.

import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import {
  ALICE_UID,
  CLUSTER_SH,
  clusterProfile,
  clusterSize,
  IMAGE,
  leftoversOn,
  run,
  runAs,
  STATE,
  waitFor,
} from "./cluster.js";
import { installTool } from "./workspace.js";

let before = "";

beforeAll(async () => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(1);
  installTool("alice", ALICE_UID);
  before = clusterProfile();
  const r = await run("bash", [CLUSTER_SH, "profile", "default"]);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  if (before) await run("bash", [CLUSTER_SH, "profile", before]);
});

test("a container left with the job's label is removed by the Epilog when the job ends", async () => {
  const labels = "--label srun-docker=1 --label srun-docker.job=$SLURM_JOB_ID --label srun-docker.uid=1001";
  const r = await runAs(
    "alice",
    `salloc -N1 -w node1 bash -c 'srun docker run -d ${labels} --name sdtc-epilog-leftover-$SLURM_JOB_ID ${IMAGE} sleep infinity >/dev/null && srun docker ps --filter name=sdtc-epilog-leftover --format "running {{.Names}}"'`,
  );
  expect(r.code, r.stderr).toBe(0);
  const name = /^running (sdtc-epilog-leftover-(\d+))$/m.exec(r.stdout);
  expect(name, r.stdout).not.toBeNull();
  // salloc has returned: the job is over and its Epilog runs on node1.
  await waitFor(
    "the Epilog to remove the leftover",
    async () => {
      const left = await leftoversOn([1], ALICE_UID);
      return left.containers.length === 0 && left.processes.length === 0;
    },
    30_000,
    250,
  );
  // It was the Epilog's clean that removed it (nothing else watches over such a container).
  const log = readFileSync(path.join(STATE, "log/epilog.log"), "utf8");
  expect(log).toContain(`removing ${name?.[1]} (job ${name?.[2]})`);
});
