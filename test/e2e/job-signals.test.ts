// Checkpoint requests, as Slurm sends them: `scancel --signal=USR1` to a running step, and
// `sbatch --signal=USR1@T` before the time limit, reach the job script's trap with every
// launcher; the script saves and exits 0, the job exits 0, and nothing is left on any node
// (strict profile: no Epilog cleans up for us).
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  cancelAllJobs,
  clusterProfile,
  clusterSize,
  leftoversOn,
  NOSSH_IMAGE,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "alice";
const UID = USERS.alice;
const NODES = [1, 2];
let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  expect(clusterProfile(), "no Epilog may clean up for srun-docker").toBe("strict");
  ws = createWorkspace(USER, UID);
});

afterEach(() => cancelAllJobs(USER, UID, [1, 2, 3, 4]));

/** On USR1 saves a "checkpoint" (a file `<tag>-<pid>` in the workspace) and exits 0; waits 3 minutes for it. */
const training = (tag: string) => `#!/bin/bash
trap 'echo saved > "${ws.dir}/${tag}-$$-$RANDOM"; echo CHECKPOINT-SAVED; exit 0' USR1
echo TRAINING
for i in $(seq 1 1800); do sleep 0.1; done
echo NO-SIGNAL
exit 9
`;

const checkpoints = (tag: string) => readdirSync(ws.dir).filter((f) => f.startsWith(`${tag}-`));

async function jobIdOf(name: string): Promise<string> {
  return waitFor(`job ${name}'s id`, async () => {
    const r = await run("squeue", ["-h", "-u", USER, "-n", name, "-o", "%i"]);
    return r.stdout.trim() || undefined;
  });
}

describe("scancel --signal=USR1 reaches the script's trap", () => {
  test.each([
    ["ssh", `--container=${NOSSH_IMAGE}`, 1],
    ["each", `--launcher=each --container=${NOSSH_IMAGE}`, 2],
    ["srun", `--launcher=srun --container=${NOSSH_IMAGE}`, 2],
  ])(
    "--launcher=%s: the script checkpoints on every node that runs it and exits 0",
    async (launcher, options, savers) => {
      const tag = `ckpt-${launcher}`;
      ws.write("train.sh", training(tag), 0o755);
      const name = `ckpt-${launcher}`;
      const job = startAs(
        USER,
        `cd ${ws.dir} && salloc -N 2 -w node[1-2] -J ${name} srun srun-docker ${options} --script=./train.sh`,
      );
      await waitFor("every script to train", async () => job.output().split("TRAINING").length - 1 >= savers, 180_000);
      const r = await run("scancel", ["--signal=USR1", await jobIdOf(name)]);
      expect(r.code, r.stderr).toBe(0);
      const result = await job.result;
      expect(result.stdout).not.toContain("NO-SIGNAL");
      expect(result.stdout.split("CHECKPOINT-SAVED").length - 1, result.stderr).toBe(savers);
      expect(result.code, result.stderr).toBe(0);
      expect(checkpoints(tag)).toHaveLength(savers);
      expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
    },
  );
});

test("sbatch --signal=USR1@60 --time=2: the job checkpoints before its time limit and exits 0", async () => {
  ws.write("train.sh", training("ckpt-batch"), 0o755);
  // --signal=USR1@60 reaches the steps 60-120 s before the end (Slurm checks once a minute):
  // here within the first minute of a 2-minute job.
  ws.write(
    "batch.sh",
    `#!/bin/bash
#SBATCH -N 2 -w node[1-2] --time=2 --signal=USR1@60 -J ckpt-batch -o ${ws.dir}/batch.out
srun srun-docker --container=${NOSSH_IMAGE} --script=./train.sh
echo "BATCH-EXIT $?"
`,
    0o755,
  );
  const submitted = await runAs(USER, `cd ${ws.dir} && sbatch --parsable batch.sh`);
  expect(submitted.code, submitted.stderr).toBe(0);
  const jobId = submitted.stdout.trim();
  await waitFor(
    "the batch job to end",
    async () => (await run("squeue", ["-h", "-j", jobId])).stdout.trim() === "",
    170_000,
    1000,
  );
  const out = readFileSync(`${ws.dir}/batch.out`, "utf8");
  expect(out).toContain("CHECKPOINT-SAVED");
  expect(out).toContain("BATCH-EXIT 0");
  expect(checkpoints("ckpt-batch")).toHaveLength(1);
  expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
}, 200_000);
