// `--dry-run` prints what the run does: the same planner, fed the same facts (nvidia-smi too).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, beforeEach, expect, test } from "vitest";
import { fakeNode, freePort, IMAGE_ID, makeTestJob, type TestJob, testOptions } from "./fake-node.test-support.js";
import { runJob } from "./index.js";

let job: TestJob;
beforeEach(() => {
  job = makeTestJob();
});
afterEach(() => job.cleanUp());

/**
 * The dry run's commands as a POSIX shell runs them when pasted: `docker` stands in as a
 * function that prints its arguments (NUL after each, SOH after each command).
 */
function commandLines(text: string): string[][] {
  const script = `docker() { for a; do printf '%s\\0' "$a"; done; printf '\\1'; }\n${text}`;
  const out = execFileSync("sh", ["-c", script], { encoding: "utf8" });
  return out
    .split("\u0001")
    .slice(0, -1)
    .map((command) => ["docker", ...command.split("\0").slice(0, -1)]);
}

test("a GPU node without Slurm GPU variables: the dry run shows the run's --gpus, np and ports", async () => {
  const options = testOptions({ nodelist: ["node1"], sshdPort: await freePort() });
  // The run first: it makes the secret the ports are drawn from, which the dry run only reads.
  const real = fakeNode(job, "node1", { gpus: 4, scriptExit: 0 });
  expect(await runJob(options, real.deps)).toBe(0);
  const events = job.events.length;
  const dry = fakeNode(job, "node1", { gpus: 4 });
  expect(await runJob({ ...options, dryRun: true }, dry.deps)).toBe(0);
  expect(dry.gpuQueries).toBe(1);
  expect(job.events).toHaveLength(events); // the dry run asked the engine nothing
  expect(dry.stdout.join("")).not.toContain("stand-in");

  const [runLine, execLine, teardown] = commandLines(dry.stdout.join(""));
  // The run names the image the master pinned (here its ID); the dry run, what the user named.
  const runArgs = (real.runArgs[0] ?? []).map((word) => (word === IMAGE_ID ? "img:1" : word));
  expect(runLine).toEqual(["docker", ...runArgs]);
  expect(execLine).toEqual(["docker", ...(real.execArgs[0] ?? [])]);
  expect(teardown?.slice(0, 3)).toEqual(["docker", "rm", "-f"]);
  expect(runLine).toEqual(expect.arrayContaining(["--gpus", "all"]));
  expect(execLine).toEqual(expect.arrayContaining(["np=4", "NPROC_PER_NODE=4"]));
});

test("before any run: the dry run's ports are drawn from a stand-in, says so, and makes no secret", async () => {
  const dry = fakeNode(job, "node1", {});
  expect(await runJob(testOptions({ nodelist: ["node1"], dryRun: true }), dry.deps)).toBe(0);
  expect(dry.stdout.join("")).toMatch(
    /^# rendezvous node1:\d+, sshd on the first free of ports( \d+){16}, MASTER_PORT \d+ \(from a stand-in secret/m,
  );
  expect(existsSync(job.materialDir)).toBe(false);
});

test("Slurm's GPU variables say it all: nvidia-smi is not asked, in the dry run as in the run", async () => {
  const options = testOptions({ nodelist: ["node1"], dryRun: true });
  const node = fakeNode(job, "node1", { gpus: 4 });
  node.deps.env = { SLURM_STEP_GPUS: "1", SLURM_GPUS_ON_NODE: "1" };
  await runJob(options, node.deps);
  expect(node.gpuQueries).toBe(0);
  expect(commandLines(node.stdout.join(""))[0]).toEqual(expect.arrayContaining(["--gpus", '"device=1"']));
});

test("--launcher=srun --dry-run: the first task shows the container and its exec, another task only its exec", async () => {
  const step = {
    SLURM_JOB_ID: "7",
    SLURM_STEP_ID: "0",
    SLURM_STEP_NODELIST: "node1",
    SLURM_NODEID: "0",
    SLURM_STEP_NUM_TASKS: "2",
    SLURM_STEP_TASKS_PER_NODE: "2",
    PMIX_SERVER_TMPDIR: "/var/spool/slurmd/pmix.7.0/",
  };
  const options = testOptions({ launcher: "srun", program: ["python3", "app.py"], script: "python3", dryRun: true });
  const printed: string[][][] = [];
  for (const rank of ["0", "1"]) {
    const node = fakeNode(job, "node1", {});
    node.deps.env = { ...step, SLURM_PROCID: rank, SLURM_LOCALID: rank, PMIX_RANK: rank };
    expect(await runJob(options, node.deps)).toBe(0);
    printed.push(commandLines(node.stdout.join("")));
  }
  expect(job.events).toEqual([]); // nothing asked of the engine
  const [first, second] = printed;
  expect(first?.map((c) => c[1])).toEqual(["run", "exec", "rm"]);
  expect(first?.[0]).toEqual(expect.arrayContaining(["-v", "/var/spool/slurmd/pmix.7.0:/var/spool/slurmd/pmix.7.0"]));
  expect(second?.map((c) => c[1])).toEqual(["exec"]);
  expect(second?.[0]).toEqual(expect.arrayContaining(["PMIX_RANK", "RANK=1", "LOCAL_RANK=1", "python3", "app.py"]));
});
