// Teardown on the `strict` profile (no Epilog, KillWait=5): whatever ends a job, nothing of
// it may be left on any node (no container in any state, no process of the user) before
// Slurm's SIGKILL would come. Each case runs RUNS times (5; `npm run soak` runs more) and
// prints min/median/max of the time from the blow to "nothing left".
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  ALICE_UID,
  type CommandResult,
  cancelAllJobs,
  clusterProfile,
  clusterSize,
  findHeadProcesses,
  IMAGE,
  run,
  runAs,
  startAs,
  waitFor,
} from "./cluster.js";
import { expectReadmeQuote } from "./readme-quotes.js";
import { type CaseTimes, killSrunDocker, nothingLeftOn, reportCase, runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const N = 4;
const NODES = [1, 2, 3, 4];
/** The strict profile's KillWait: a teardown that needs Slurm's SIGKILL has failed. */
const KILL_WAIT_MS = 5000;
const soak = process.env.SDTC_SOAK === "1";
const runs = (soakRuns: number) => (soak ? soakRuns : 5);

let ws: Workspace;

beforeAll(async () => {
  expect(
    clusterSize(),
    "the test cluster must be up with 4 nodes: bash test/cluster/cluster.sh up 4",
  ).toBeGreaterThanOrEqual(N);
  expect(
    clusterProfile(),
    "teardown runs where no Epilog cleans up: SDTC_PROFILE=strict or cluster.sh profile strict",
  ).toBe("strict");
  ws = createWorkspace("alice", ALICE_UID);
  ws.write("long.sh", '#!/bin/bash\necho "started $(hostname)"\nmpirun -H "$hostlist" -np "$np" sleep 300\n', 0o755);
});

afterEach(async () => {
  await cancelAllJobs("alice", ALICE_UID, NODES);
});

const foreground = () =>
  startAs("alice", `cd ${ws.dir} && salloc -N ${N} srun srun-docker --container=${IMAGE} --script=./long.sh`, 120_000);

async function jobGone(id: string): Promise<void> {
  await waitFor(
    `job ${id} to leave squeue`,
    async () => (await run("squeue", ["-h", "-j", id])).stdout.trim() === "",
    60_000,
    200,
  );
}

/**
 * One run of a case that strikes a running job: starts it, waits until it really runs, strikes
 * (`strike` returns the moment of the blow), and times until nothing is left; `after` checks
 * what the foreground salloc said.
 */
async function strikeRunningJob(
  strike: (job: { id: string; nodes: number[] }) => Promise<number>,
  after: (result: CommandResult, job: { id: string }) => Promise<void> | void = () => {},
): Promise<number> {
  const fg = foreground();
  const job = await runningJob("alice", ALICE_UID, N, /sleep 300/);
  const t0 = await strike(job);
  const ms = await nothingLeftOn(job.nodes, ALICE_UID, t0);
  await after(await fg.result, job);
  await jobGone(job.id);
  return ms;
}

/** Runs `once` `count` times, prints the figure, and holds every run to the KillWait bound. */
async function repeat(name: string, count: number, once: (i: number) => Promise<number>): Promise<void> {
  const times: CaseTimes = [];
  for (let i = 0; i < count; i++) times.push(await once(i));
  reportCase(name, times);
  for (const ms of times) expect(ms, `${name}: every run clean before KillWait`).toBeLessThan(KILL_WAIT_MS);
}

describe(`teardown at N=${N} without an Epilog`, () => {
  test("scancel of a running job", async () => {
    await repeat("scancel of a running job", runs(20), () =>
      strikeRunningJob(async (job) => {
        const t0 = Date.now();
        await runAs("alice", `scancel ${job.id}`);
        return t0;
      }),
    );
  });

  test("Ctrl-C twice on the foreground srun", async () => {
    await repeat("Ctrl-C (SIGINT twice to srun)", runs(10), () =>
      strikeRunningJob(
        async () => {
          const [srun] = await findHeadProcesses(ALICE_UID, /^srun /);
          if (srun === undefined || srun <= 1) throw new Error("the foreground srun was not found");
          const t0 = Date.now();
          // srun wants two Ctrl-C within a second to cancel the step.
          process.kill(srun, "SIGINT");
          await new Promise((r) => setTimeout(r, 300));
          process.kill(srun, "SIGINT");
          return t0;
        },
        (result) => expect(result.code).not.toBe(0),
      ),
    );
  });

  test("scancel during start-up, before every node is ready", async () => {
    await repeat("scancel during start-up (0.1-0.5 s after srun starts)", runs(20), async (i) => {
      const fg = foreground();
      await waitFor("srun to start", async () => (await findHeadProcesses(ALICE_UID, /^srun /)).length > 0, 30_000, 20);
      // Spread over the window: image inspection, rendezvous, docker run, sshd start.
      await new Promise((r) => setTimeout(r, 100 + ((i * 97) % 400)));
      const id = (await run("squeue", ["-h", "-u", "alice", "-o", "%A"])).stdout.trim().split("\n")[0] ?? "";
      expect(id, "alice's job id").toMatch(/^\d+$/);
      const t0 = Date.now();
      await runAs("alice", `scancel ${id}`);
      const ms = await nothingLeftOn(NODES, ALICE_UID, t0);
      await fg.result;
      await jobGone(id);
      return ms;
    });
  });

  test("kill -9 of a worker's srun-docker: the master names it, its container goes by itself", async () => {
    await repeat("kill -9 of a worker's srun-docker", runs(10), () => {
      let worker = 0;
      return strikeRunningJob(
        (job) => {
          worker = job.nodes[N - 1] ?? 0;
          return killSrunDocker(worker, ALICE_UID);
        },
        (result) => {
          expect(result.code).not.toBe(0);
          expect(result.stderr).toMatch(new RegExp(`node${worker} was lost`));
          expectReadmeQuote(result.stderr, "node2 was lost during the job");
        },
      );
    });
  });

  test("kill -9 of the master's srun-docker: every container gone", async () => {
    await repeat("kill -9 of the master's srun-docker", runs(10), () =>
      strikeRunningJob((job) => killSrunDocker(job.nodes[0] ?? 0, ALICE_UID)),
    );
  });

  test("SIGKILL of the whole step (scancel -s KILL)", async () => {
    await repeat("SIGKILL of the whole step (scancel -s KILL)", runs(10), () =>
      strikeRunningJob(
        async (job) => {
          const t0 = Date.now();
          await runAs("alice", `scancel -s KILL ${job.id}`);
          return t0;
        },
        async (_result, job) => {
          // A signal alone does not end the allocation's job.
          await run("scancel", [job.id]);
        },
      ),
    );
  });
});
