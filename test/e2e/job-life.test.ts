// A job's whole life on the real cluster, strict profile (no Epilog cleans up), as carol: a
// container killed mid-job ends the job at once, naming its node, with every launcher; a job
// that requeues itself runs twice cleanly.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  cancelAllJobs,
  clusterProfile,
  clusterSize,
  figure,
  findNodeProcesses,
  IMAGE,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  nodeContainers,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { expectReadmeQuote } from "./readme-quotes.js";
import { daemonEventTimes, nothingLeftOn } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "carol";
const UID = USERS.carol;
const NODES = [1, 2];
/** The strict profile's KillWait: a job that needs Slurm's SIGKILL to end has failed. */
const KILL_WAIT_MS = 5000;
/** Runs of each kill case: one in CI, more for the README's figures (`npm run soak`). */
const RUNS = process.env.SDTC_SOAK === "1" ? 10 : 1;

let ws: Workspace;

beforeAll(async () => {
  expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
  expect(clusterProfile(), "no Epilog may clean up for us: SDTC_PROFILE=strict").toBe("strict");
  ws = createWorkspace(USER, UID);
  ws.write("hold.sh", '#!/bin/sh\necho "started $(hostname)"\nsleep 300\necho "slept: not ended"\n', 0o755);
  await cancelAllJobs(USER, UID, NODES);
});

interface Launch {
  /** The launcher's options on srun-docker's command line. */
  readonly name: string;
  readonly command: string;
  /** Nodes whose tasks run `sleep 300` once the job really runs. */
  readonly sleepsOn: readonly number[];
}

const step = (options: string) =>
  `cd ${ws.dir} && salloc -N 2 -w node[1-2] -O srun srun-docker --container=${IMAGE} ${options} --script=./hold.sh`;
const LAUNCHES: Launch[] = [
  { name: "ssh (agent)", command: "", sleepsOn: [1] },
  { name: "ssh (--remote=sshd)", command: "--remote=sshd", sleepsOn: [1] },
  { name: "each", command: "--launcher=each", sleepsOn: [1, 2] },
];

/** Milliseconds since the epoch when node K's daemon saw `container` die. */
async function diedAt(k: number, container: string, sinceMs: number): Promise<number> {
  const [first] = await daemonEventTimes(k, sinceMs, [`container=${container}`, "event=die"]);
  expect(first, `node${k}'s daemon saw ${container} die`).toBeDefined();
  return first ?? Number.NaN;
}

/**
 * Starts `command` as carol, waits until the job runs (a container on both nodes, the program
 * running where it should), `docker kill`s node K's container, and returns what the job said,
 * how long after the container's death the job ended, and how long until nothing was left.
 */
async function killMidJob(command: string, sleepsOn: readonly number[], k: number) {
  const fg = startAs(USER, command);
  const ended = fg.result.then((result) => ({ result, at: Date.now() }));
  const container = await waitFor(
    "the job to run on both nodes",
    async () => {
      const names = await Promise.all(NODES.map((n) => nodeContainers(n, `label=srun-docker.uid=${UID}`)));
      if (names.some((list) => list.length !== 1)) return undefined;
      for (const n of sleepsOn) if ((await findNodeProcesses(n, UID, /sleep 300/)).length === 0) return undefined;
      return names[k - 1]?.[0];
    },
    90_000,
    200,
  );
  const t0 = Date.now();
  const kill = await inNode(k, ["docker", "kill", container]);
  expect(kill.code, kill.stderr).toBe(0);
  // Looked for from the kill on; measured from the container's death.
  const cleanAt = nothingLeftOn(NODES, UID, t0);
  const { result, at } = await ended;
  const died = await diedAt(k, container, t0 - 1000);
  return { result, endedMs: at - died, leftMs: (await cleanAt) + t0 - died };
}

/** The one line the node whose container was killed says, and nobody says it twice. */
function expectOneLine(stderr: string, k: number): void {
  const line = `node${k}: the container exited during the job (137: killed; out of memory, or SIGKILL)`;
  const own = stderr.split("\n").filter((l) => l === `srun-docker: error: ${line}`);
  expect(own, stderr).toHaveLength(1);
  expectReadmeQuote(stderr, "node2: the container exited during the job (137: killed; out of memory, or SIGKILL)");
  expect(stderr).not.toContain("slept: not ended");
}

/** Kills node K's container in RUNS jobs of `command`; checks each, and prints the figures. */
async function killCase(name: string, command: string, sleepsOn: readonly number[], k: number): Promise<void> {
  const ended: number[] = [];
  const left: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const one = await killMidJob(command, sleepsOn, k);
    expect(one.result.code, one.result.stderr).not.toBe(0);
    expectOneLine(one.result.stderr, k);
    // No node says the job ended well.
    expect(one.result.stderr).not.toMatch(/; exit 0$/m);
    ended.push(one.endedMs);
    left.push(one.leftMs);
  }
  figure(`teardown: ${name}`, `job ended ${spread(ended)}, nothing left ${spread(left)} s after the container died`);
  for (const ms of [...ended, ...left]) expect(ms, `${name}: over before KillWait`).toBeLessThan(KILL_WAIT_MS);
}

/** min / median / max in seconds. */
function spread(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const s = (v: number | undefined) => ((v ?? Number.NaN) / 1000).toFixed(2);
  return `${s(sorted[0])} / ${s(sorted[Math.floor((sorted.length - 1) / 2)])} / ${s(sorted.at(-1))}`;
}

// "teardown" in the names: `npm run soak` runs these with the other teardown cases.
describe("teardown when a container is killed mid-job: the job ends, naming the node", () => {
  describe.each(LAUNCHES)("$name", ({ name, command, sleepsOn }) => {
    test.each([
      ["a worker's", 2],
      ["the master's", 1],
    ])("%s container (node%i)", async (whose, k) => {
      await killCase(`docker kill of ${whose} container, ${name}`, step(command), sleepsOn, k);
    });
  });

  test("srun launcher (2 tasks per node): node2's first task says it, the step ends everywhere", async () => {
    const command = `cd ${ws.dir} && salloc -N 2 -w node[1-2] --ntasks-per-node=2 -O srun --mpi=pmix srun-docker --launcher=srun --container=${NOSSH_IMAGE} -- sleep 300`;
    await killCase("docker kill of node2's container, srun launcher", command, NODES, 2);
  });
});

/**
 * The job's first run starts a 2-node, 2-tasks-per-node srun launcher step, SIGKILLs it once
 * every task runs (a requeue's SIGKILL cuts a teardown short the same way: the node's `ready`,
 * `task-N`, pid files and lifeline stay), then requeues itself; its second run, under the same
 * job id and step 0, must not be confused by any of that.
 */
const REQUEUE_SCRIPT = `#!/bin/bash
echo "run SLURM_RESTART_COUNT=\${SLURM_RESTART_COUNT:-0}"
step() { srun --mpi=pmix srun-docker --launcher=srun --container=${NOSSH_IMAGE} -- "$@"; }
if [ "\${SLURM_RESTART_COUNT:-0}" = 0 ]; then
  step sleep 300 &
  left=~/.srun-docker/jobs/$SLURM_JOB_ID.0
  for i in $(seq 1 300); do [ -e $left/node1/srun/task-1 ] && [ -e $left/node2/srun/task-1 ] && break; sleep 0.2; done
  scancel -s KILL "$SLURM_JOB_ID.0"
  wait
  echo "first run left: $(cd $left && ls */srun | tr '\\n' ' ')"
  scontrol requeue "$SLURM_JOB_ID"
  sleep 300
  echo "not requeued"
  exit 1
fi
step sh -c 'echo "second run: task $SLURM_PROCID on $(hostname)"'
echo "second run: step exit $?"
`;

/** `scontrol show job`'s state and exit code, read before MinJobAge (10 s) forgets the job. */
async function finalState(id: string): Promise<{ state: string; exit: string; restarts: string }> {
  return waitFor(
    `job ${id} to finish`,
    async () => {
      const out = (await run("scontrol", ["show", "job", id])).stdout;
      const state = /JobState=(\S+)/.exec(out)?.[1] ?? "";
      if (!/^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL)$/.test(state)) return undefined;
      return { state, exit: /ExitCode=(\S+)/.exec(out)?.[1] ?? "", restarts: /Restarts=(\d+)/.exec(out)?.[1] ?? "" };
    },
    // A requeued job waits about two minutes (its BeginTime) before its second run.
    360_000,
    1000,
  );
}

test("a job that requeues itself runs twice under one id; the second run starts clean and leaves nothing", async () => {
  ws.write("requeue.sh", REQUEUE_SCRIPT, 0o755);
  const out = path.join(ws.dir, "requeue.out");
  const submit = await runAs(
    USER,
    `cd ${ws.dir} && sbatch --parsable -N 2 -w node[1-2] --ntasks-per-node=2 --requeue --open-mode=append -o ${out} ./requeue.sh`,
  );
  const id = submit.stdout.trim().split(";")[0] ?? "";
  expect(id, submit.stderr).toMatch(/^\d+$/);
  const final = await finalState(id);
  const said = existsSync(out) ? readFileSync(out, "utf8") : "";
  expect(final, said).toEqual({ state: "COMPLETED", exit: "0:0", restarts: "1" });
  // The first run left its node files behind; the second ran under the same step id anyway.
  expect(said).toMatch(/^first run left: .*ready .*task-1/m);
  expect(said).toMatch(/^run SLURM_RESTART_COUNT=0$/m);
  expect(said).toMatch(/^run SLURM_RESTART_COUNT=1$/m);
  const tasks = [...said.matchAll(/^second run: task (\d) on (node\d)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  expect(tasks, said).toEqual(["0 node1", "1 node1", "2 node2", "3 node2"]);
  expect(said).toMatch(/^second run: step exit 0$/m);
  expect(said).not.toMatch(/not requeued|srun-docker: error/);
  expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  // Neither run's job dirs: the second run removed its own and swept the first run's.
  const jobs = path.join(ws.home, ".srun-docker/jobs");
  expect(existsSync(jobs) ? readdirSync(jobs).filter((e) => e.startsWith(`${id}.`)) : []).toEqual([]);
}, 420_000);
