// `--envlist` values on no command line, in no log and no dry run (README "Security"): a user
// runs jobs with a token in HF_TOKEN, with Docker (the ssh, each and srun launchers) and with
// rootless Podman, all with --debug, while root on the host reads every /proc/*/cmdline over
// and over (attacker/cmdline-scan.cjs). The token must be in none of them, nor in what the job
// and --debug printed, nor in --dry-run's output; the job itself must see it (it prints its
// hash, on the master and, through the agent, on the other node). Users: frank for Docker;
// erin for Podman, the one user with rootless Podman on the test cluster.
// The ssh-launcher jobs run with the user's home at 0700, not the cluster's 0711: `doctor` says
// a run needs no `chmod o+x` (core/plan/home-access.ts), with the daemon as root or rootless Podman.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import {
  type CommandResult,
  clusterSize,
  figure,
  IMAGE,
  leftoversOn,
  NOSSH_IMAGE,
  nodeUserProcesses,
  runAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const SCANNER = path.join(import.meta.dirname, "attacker/cmdline-scan.cjs");

/**
 * The job: the hash of HF_TOKEN as this node sees it, and with `remote` as each other node's
 * agent sees it; then a canary on a command line in the container for a few seconds, read from
 * a file so that it is on no command line outside.
 */
const LEAK_SH = `#!/bin/bash
digest() { printf '%s' "$HF_TOKEN" | sha256sum | cut -d' ' -f1; }
echo "sees $(hostname) $(digest)"
echo "home mode $(stat -c %a "$HOME")"
if [ "$1" = remote ]; then
  for n in $(echo "$hostlist" | tr , '\\n' | cut -d: -f1); do
    [ "$n" = "$(hostname)" ] || ssh "$n" 'echo "sees $(hostname) $(printf %s "$HF_TOKEN" | sha256sum | cut -d" " -f1)"'
  done
fi
bash -c 'sleep 3; true' "$(cat canary)"
`;

interface ScanResult {
  passes: number;
  reads: number;
  pids: number;
  seconds: number;
  found: { token: string[]; canary: string[] };
}

/** Starts the scan as root on the host; resolves once its first pass is done. */
async function startScan(token: string, canary: string): Promise<{ stop(): Promise<ScanResult> }> {
  const child = spawn(process.execPath, [SCANNER], {
    env: { PATH: process.env.PATH, SCAN_TOKEN: token, SCAN_CANARY: canary },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await waitFor("the scan's first pass", async () => stdout.startsWith("scanning\n") || (await failed()), 30_000, 20);
  async function failed(): Promise<false> {
    if (child.exitCode !== null) throw new Error(`the scan exited: ${stderr}`);
    return false;
  }
  return {
    async stop() {
      child.stdin.end();
      await closed;
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line === undefined) throw new Error(`the scan printed no result: ${stdout}${stderr}`);
      return JSON.parse(line) as ScanResult;
    },
  };
}

interface Secret {
  token: string;
  canary: string;
  hash: string;
}

/** A fresh token and canary in files of the user's workspace (0600): on no command line. */
function newSecret(ws: Workspace): Secret {
  const token = `hf_${randomBytes(16).toString("hex")}`;
  const canary = `canary-${randomBytes(12).toString("hex")}`;
  ws.write("token", token, 0o600);
  ws.write("canary", canary, 0o600);
  return { token, canary, hash: createHash("sha256").update(token).digest("hex") };
}

/** The user's shell line: HF_TOKEN exported from its file (a builtin, no process), then `command`. */
function withToken(ws: Workspace, command: string): string {
  return `cd ${ws.dir} && export HF_TOKEN="$(<token)" && ${command}`;
}

/**
 * Runs `command` as the user under the scan; checks that the job saw the value (`seen`: the
 * nodes that print its hash), that the value is on no command line and in nothing printed,
 * that --debug named the variable, and that the scan saw the job's canary.
 */
async function runScanned(ws: Workspace, what: string, command: string, seen: string[], home = 0o711): Promise<void> {
  const secret = newSecret(ws);
  const scan = await startScan(secret.token, secret.canary);
  let r: CommandResult;
  let result: ScanResult;
  chmodSync(ws.home, home);
  try {
    r = await runAs(ws.user, withToken(ws, command), 150_000);
  } finally {
    chmodSync(ws.home, 0o711);
    result = await scan.stop();
  }
  figure(
    `--envlist token, ${what}`,
    `${result.passes} passes over every /proc/*/cmdline in ${result.seconds.toFixed(1)} s (${result.pids} processes, ` +
      `${result.reads} reads): the token on ${result.found.token.length}, the job's canary on ${result.found.canary.length}`,
  );
  expect(r.code, r.stderr).toBe(0);
  expect(result.found.token, "command lines that held the token").toEqual([]);
  expect(result.found.canary.length, "the scan must see the job's own command lines").toBeGreaterThan(0);
  expect(`${r.stdout}\n${r.stderr}`).not.toContain(secret.token);
  const sees = [...r.stdout.matchAll(/^sees (node\d) ([0-9a-f]{64})$/gm)];
  expect(sees.map((m) => m[1]).sort(), r.stdout).toEqual(seen);
  for (const m of sees) expect(m[2], `${m[1]} saw another value`).toBe(secret.hash);
  expect(r.stdout).toContain(`home mode ${home.toString(8)}\n`);
  // --debug printed the engine calls: the variable by its name.
  expect(r.stderr).toMatch(/ -e HF_TOKEN |"HF_TOKEN"/);
}

const TWO = "salloc -N 2 -w node[1-2]";

describe("Docker: the token on no command line, in no output", () => {
  let ws: Workspace;
  beforeAll(() => {
    expect(clusterSize(), "the test cluster must be up: bash test/cluster/cluster.sh up 4").toBeGreaterThanOrEqual(2);
    ws = createWorkspace("frank", USERS.frank);
    ws.write("leak.sh", LEAK_SH, 0o755);
  });

  test.each<[string, string, number]>([
    [
      "ssh launcher (the script on the master, ssh to node2 through the agent; home 0700)",
      "--script=./leak.sh remote",
      0o700,
    ],
    ["each launcher", "--launcher=each --script=./leak.sh", 0o711],
  ])("%s", async (what, args, home) => {
    await runScanned(
      ws,
      `Docker, ${what.replace(/ \(.*/, "")}`,
      `${TWO} srun srun-docker --container=${NOSSH_IMAGE} --envlist=HF_TOKEN --debug ${args}`,
      ["node1", "node2"],
      home,
    );
    expect(await leftoversOn([1, 2], USERS.frank)).toEqual({ containers: [], processes: [] });
  });

  test("srun launcher (every task an exec into its node's container)", async () => {
    await runScanned(
      ws,
      "Docker, srun launcher",
      `${TWO} --ntasks-per-node=1 srun srun-docker --launcher=srun --container=${NOSSH_IMAGE} --envlist=HF_TOKEN --debug -- ./leak.sh`,
      ["node1", "node2"],
    );
    expect(await leftoversOn([1, 2], USERS.frank)).toEqual({ containers: [], processes: [] });
  });

  test.each([
    ["docker, the agent", ""],
    ["docker, sshd", "--remote=sshd"],
    ["podman", "--runtime=podman"],
  ])("--dry-run prints `-e HF_TOKEN`, not the value (%s)", async (_what, args) => {
    const secret = newSecret(ws);
    const r = await runAs(
      ws.user,
      withToken(
        ws,
        `srun-docker --container=${IMAGE} --envlist=HF_TOKEN --script=./leak.sh --nodelist=node1,node2 --node-rank=0 --dry-run ${args}`,
      ),
    );
    expect(r.code, r.stderr).toBe(0);
    const execLine = r.stdout.split("\n").find((l) => / exec /.test(l));
    expect(execLine, r.stdout).toMatch(/ -e HF_TOKEN /);
    expect(r.stdout.split("\n").find((l) => / run /.test(l))).toMatch(/ -e HF_TOKEN /);
    expect(`${r.stdout}\n${r.stderr}`).not.toContain(secret.token);
  });
});

describe("rootless Podman: the token on no command line, in no output", () => {
  test("ssh launcher (podman exec on the master, ssh to node2 through the agent; home 0700)", async () => {
    const ws = createWorkspace("erin", USERS.erin);
    ws.write("leak.sh", LEAK_SH, 0o755);
    await runScanned(
      ws,
      "rootless Podman, ssh launcher",
      `${TWO} srun srun-docker --runtime=podman --container=${IMAGE} --envlist=HF_TOKEN --debug --script=./leak.sh remote`,
      ["node1", "node2"],
      0o700,
    );
    for (const k of [1, 2]) {
      await waitFor(
        `node${k}: nothing of erin's left`,
        async () => (await nodeUserProcesses(k, USERS.erin)).length === 0,
        10_000,
        200,
      );
    }
  });
});
