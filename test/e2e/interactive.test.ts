// Interactive use on the real cluster (strict profile, no Epilog): a shell under `srun --pty`
// with a real terminal in the container, and `srun-docker exec` into a running job's container.
// Users: erin (uid 1005) for every job here; no other file runs erin's jobs at the same time.
// `--pty` needs a terminal on our side: `script` gives srun one, as the README suggests.
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import {
  cancelAllJobs,
  clusterProfile,
  clusterSize,
  figure,
  findHeadProcesses,
  findNodeProcesses,
  leftoversOn,
  NOSSH_IMAGE,
  run,
  runAs,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { runningJob } from "./teardown-cases.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "erin";
const UID = USERS.erin;
let ws: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  expect(clusterProfile(), "no Epilog may clean up for us: SDTC_PROFILE=strict").toBe("strict");
  ws = createWorkspace(USER, UID);
});

/** A command run in a terminal (`script`), typed into step by step, as a person would. */
interface Terminal {
  /** Types `text`, then waits until what came out since matches `until`; returns that output. */
  type(text: string, until: RegExp, timeoutMs?: number): Promise<string>;
  output(): string;
  /** The exit code of the command in the terminal (script -e passes it back). */
  exit: Promise<number | null>;
  kill(): void;
}

/** `script` sizes its terminal rows × cols before running `command`, so srun --pty has a size to pass on. */
function terminal(command: string, rows: number, cols: number): Terminal {
  const inner = `stty rows ${rows} cols ${cols}; cd ${ws.dir} && ${command}`;
  const child = spawn("su", ["-", USER, "-c", `script -qec '${inner}' /dev/null`], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
  const exit = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    async type(text, until, timeoutMs = 60_000) {
      const from = out.length;
      child.stdin.write(text);
      return waitFor(
        `${JSON.stringify(text)} to give ${until}`,
        async () => (until.test(out.slice(from)) ? out.slice(from) : undefined),
        timeoutMs,
        50,
      );
    },
    output: () => out,
    exit,
    kill: () => child.kill("SIGKILL"),
  };
}

const NODES = [1, 2, 3, 4];

/** Resizes the terminal that `script` gave srun (as a window would), which signals srun. */
async function resize(rows: number, cols: number): Promise<void> {
  const [srun] = await findHeadProcesses(UID, /^srun .*--pty/);
  const tty = (await run("ps", ["-o", "tty=", "-p", String(srun)])).stdout.trim();
  expect(tty, "srun's terminal").toMatch(/^pts\/\d+$/);
  const r = await run("stty", ["-F", `/dev/${tty}`, "rows", String(rows), "cols", String(cols)]);
  expect(r.code, r.stderr).toBe(0);
}

describe("srun --pty: a shell in the container with a real terminal", () => {
  test.each([
    ["--launcher=srun -- bash", `srun -N1 --pty srun-docker --launcher=srun --container=${NOSSH_IMAGE} -- bash`],
    ["the plain form, nothing to run", `srun -N1 --pty srun-docker --container=${NOSSH_IMAGE}`],
  ])("%s: tty, window size, Ctrl-C to the foreground, exit code back", async (_name, command) => {
    const t = terminal(command, 33, 111);
    try {
      // Typed before the shell runs, it would wait in the terminal; waiting keeps Ctrl-C for sleep.
      await t.type("echo ready-$((6*7))\r", /ready-42/, 90_000);
      const tty = await t.type("tty; stty size; echo job=$SLURM_JOB_ID\r", /job=\d+/);
      expect(tty).toMatch(/\/dev\/pts\/\d+/);
      expect(t.output()).toMatch(/^33 111\r?$/m);
      // The window changes size: the new size reaches the container's terminal (SIGWINCH).
      await resize(40, 132);
      // The size travels srun → slurmstepd → the node's terminal → the exec's: a `stty size` typed
      // at once may run before it lands, so ask again until it shows (or 10 s pass).
      await waitFor(
        "the new size in the container",
        async () => {
          const said = await t.type("stty size\r", /^\d+ \d+\r?$/m, 5_000);
          return /^40 132\r?$/m.test(said);
        },
        10_000,
        200,
      );
      await t.type("sleep 100\r", /sleep 100/);
      await new Promise((r) => setTimeout(r, 1000));
      const started = Date.now();
      // Ctrl-C ends the foreground sleep, not the shell, nor the job: the shell answers again.
      await t.type("\x03", /\n/);
      await t.type("echo after-$((1+1)) status=$?\r", /after-2/, 10_000);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Job control: a background job that the shell lists.
      await t.type("sleep 50 &\r", /\[1\]\s+\d+/);
      await t.type("jobs; kill %1; wait\r", /Running\s+sleep 50/);
      await t.type("exit 7\r", /exit/);
      expect(await t.exit, t.output()).toBe(7);
      figure("srun --pty shell: Ctrl-C to the prompt", `${Date.now() - started} ms`);
    } finally {
      t.kill();
      // A shell left behind by a failed step must not hold the nodes for the next test.
      await cancelAllJobs(USER, UID, NODES);
    }
    expect(t.output()).not.toMatch(/not a tty/);
    await waitFor("nothing left on the nodes", async () => {
      const left = await leftoversOn(NODES, UID);
      return left.containers.length === 0 && left.processes.length === 0;
    });
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });
});

async function nothingLeft(): Promise<void> {
  await waitFor("nothing left on the nodes", async () => {
    const left = await leftoversOn(NODES, UID);
    return left.containers.length === 0 && left.processes.length === 0;
  });
  expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
}

describe("srun-docker exec: into a running job's container", () => {
  test("on the second node of a 2-node job: as the user, in that node's container, exit code back; gone with the job", async () => {
    ws.write("hold.sh", "#!/bin/sh\nsleep 120\n", 0o755);
    const job = startAs(
      USER,
      `cd ${ws.dir} && salloc -N2 srun srun-docker --container=${NOSSH_IMAGE} --script=./hold.sh`,
    );
    try {
      const { id, nodes } = await runningJob(USER, UID, 2, /sleep 120|agent-server/);
      const [first, second] = nodes;
      const overlap = `srun --jobid=${id} --overlap -N1 -w node${second}`;
      const probe = await runAs(
        USER,
        `${overlap} srun-docker exec -- sh -c 'echo host=$(hostname) uid=$(id -u) job=$SLURM_JOB_ID; ls /run/srun-docker; exit 5'`,
      );
      expect(probe.stdout, probe.stderr).toMatch(new RegExp(`^host=node${second} uid=1005 job=${id}$`, "m"));
      expect(probe.stdout).toMatch(/^lifeline$/m);
      expect(probe.code, probe.stderr).toBe(5);
      // A step with no container here names the ones there are.
      const none = await runAs(USER, `srun --jobid=${id} --overlap -N1 -w node${first} srun-docker exec --step=9`);
      expect(none.stderr).toMatch(`job ${id} has no container of step 9 on node${first}, only step 0 (`);
      expect(none.code).toBe(1);
      // A command still running in it when the job ends ends with it.
      const long = startAs(USER, `${overlap} srun-docker exec -- sleep 300`);
      await waitFor(
        "the exec's sleep",
        async () => (await findNodeProcesses(second ?? 0, UID, /sleep 300/)).length > 0,
      );
      const cancelled = Date.now();
      await run("scancel", [id]);
      const r = await long.result;
      expect(r.code).not.toBe(0);
      figure("srun-docker exec: its srun ends after scancel of the job", `${Date.now() - cancelled} ms`);
    } finally {
      await cancelAllJobs(USER, UID, NODES);
    }
    await job.result;
    await nothingLeft();
  });
});
