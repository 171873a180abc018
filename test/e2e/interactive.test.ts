// Interactive use on the real cluster (strict profile, no Epilog): a shell under `srun --pty`
// with a real terminal in the container, and `srun-docker exec` into a running job's container.
// Users: erin (uid 1005) for every job here; no other file runs erin's jobs at the same time.
// `--pty` needs a terminal on our side: `script` gives srun one, as the README suggests.
import { spawn } from "node:child_process";
import { beforeAll, describe, expect, test } from "vitest";
import { clusterProfile, clusterSize, figure, leftoversOn, NOSSH_IMAGE, USERS, waitFor } from "./cluster.js";
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

const NODES = [1, 2];

describe("srun --pty: a shell in the container with a real terminal", () => {
  test.each([
    [
      "--launcher=srun -- bash",
      `srun -N1 -w node1 --pty srun-docker --launcher=srun --container=${NOSSH_IMAGE} -- bash`,
    ],
    ["the plain form, nothing to run", `srun -N1 -w node1 --pty srun-docker --container=${NOSSH_IMAGE}`],
  ])("%s: tty, window size, Ctrl-C to the foreground, exit code back", async (_name, command) => {
    const t = terminal(command, 33, 111);
    try {
      // Typed before the shell runs, it would wait in the terminal; waiting keeps Ctrl-C for sleep.
      await t.type("echo ready-$((6*7))\r", /ready-42/, 90_000);
      const tty = await t.type("tty; stty size; echo job=$SLURM_JOB_ID\r", /job=\d+/);
      expect(tty).toMatch(/\/dev\/pts\/\d+/);
      expect(t.output()).toMatch(/^33 111\r?$/m);
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
    }
    expect(t.output()).not.toMatch(/not a tty/);
    await waitFor("nothing left on the nodes", async () => {
      const left = await leftoversOn(NODES, UID);
      return left.containers.length === 0 && left.processes.length === 0;
    });
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });
});
