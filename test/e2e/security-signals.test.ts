// README "Security", "Signals never open a debugger": SIGUSR1 and SIGUSR2 as Slurm sends them
// (`scancel --signal`) and straight to every process of srun-docker in a running 2-node job
// (each node's srun-docker, the agent server in each container, the agent's `ssh` running a
// remote command): no process opens a listener, none ends, another user (erin) finds nothing to
// attach to on any node, both signals reach the script and, through its `ssh`, the remote
// command (which trap them), and the job ends with its script's exit code.
import { readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { listeningPorts } from "./attacker.js";
import {
  cancelAllJobs,
  clusterSize,
  figure,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  nodeUserProcesses,
  run,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const VICTIM = "dave";
const VICTIM_UID = USERS.dave;
const ATTACKER = "erin";
const NODES = [1, 2];
const INSPECTOR_PORT = 9229;

let victim: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  victim = createWorkspace(VICTIM, VICTIM_UID);
  createWorkspace(ATTACKER, USERS.erin);
});

afterEach(() => cancelAllJobs(VICTIM, VICTIM_UID, [1, 2, 3, 4]));

/**
 * The victim's srun-docker processes on node K: its own, the agent server, the agent's `ssh`;
 * told by the program they run (srun-docker, or the same file mounted as `ssh`; the dead man's switch is a shell whose command line names the
 * agent server, and Slurm's signals do not reach a container's processes).
 */
async function srunDockerProcesses(k: number): Promise<{ pid: number; what: string }[]> {
  const all = await nodeUserProcesses(k, VICTIM_UID);
  return all
    .map((line) => {
      const [pid = "", ...args] = line.split(" ");
      return { pid: Number(pid), args: args.join(" ") };
    })
    .filter(({ pid }) => ["srun-docker", "ssh"].includes(path.basename(programOf(pid))))
    .map(({ pid, args }) => ({
      pid,
      what: args.includes("agent-server") ? "agent server" : args.startsWith("ssh ") ? "agent ssh" : "srun-docker",
    }));
}

function programOf(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return ""; // ended meanwhile
  }
}

/** Whether `user` can open a TCP connection to 127.0.0.1:`port` inside node K. */
async function connectsAs(k: number, user: string, port: number): Promise<boolean> {
  const probe = `exec 3<>/dev/tcp/127.0.0.1/${port}`;
  const r = await inNode(k, ["su", "-", user, "-c", `timeout 3 bash -c '${probe}'`]);
  return r.code === 0;
}

describe("SIGUSR1 and SIGUSR2 at a running job", () => {
  test("no process of srun-docker opens a listener or ends, another user finds no debugger, the job ends with its script's code", async () => {
    victim.write(
      "signalled.sh",
      `#!/bin/bash
trap 'echo USR1 >> ${victim.dir}/script.txt' USR1
trap 'echo USR2 >> ${victim.dir}/script.txt' USR2
ssh node2 "trap 'echo USR1 >> ${victim.dir}/remote.txt' USR1; trap 'echo USR2 >> ${victim.dir}/remote.txt' USR2; while :; do sleep 0.1; done" &
sleep 1
echo VICTIM-WAITING
for i in $(seq 1 1800); do [ -e go ] && break; sleep 0.1; done
[ -e go ] || { echo VICTIM-NO-GO; exit 9; }
ssh node2 true && echo VICTIM-SSH-OK
kill %1
exit 3
`,
      0o755,
    );
    const job = startAs(
      VICTIM,
      `cd ${victim.dir} && salloc -N 2 -w node[1-2] -J sec-signals srun srun-docker --container=${NOSSH_IMAGE} --script=./signalled.sh`,
    );
    await waitFor("the victim's script to wait", async () => job.output().includes("VICTIM-WAITING"), 180_000);
    const jobId = await waitFor("the job id", async () => {
      const r = await run("squeue", ["-h", "-u", VICTIM, "-n", "sec-signals", "-o", "%i"]);
      return r.stdout.trim() || undefined;
    });

    const before = await Promise.all(NODES.map((k) => srunDockerProcesses(k)));
    const listenersBefore = await Promise.all(NODES.map((k) => listeningPorts(k, VICTIM_UID)));
    const kinds = before.flat().map((p) => p.what);
    expect(new Set(kinds)).toEqual(new Set(["srun-docker", "agent server", "agent ssh"]));

    // Slurm's way first (every step's srun-docker), then each process itself, twice over.
    for (const signal of ["USR1", "USR2"]) {
      const r = await run("scancel", [`--signal=${signal}`, jobId]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const signal of ["SIGUSR1", "SIGUSR2", "SIGUSR1", "SIGUSR2"] as const) {
      for (const { pid } of before.flat()) process.kill(pid, signal);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The inspector would listen from a thread of its own within milliseconds: give it a second.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const after = await Promise.all(NODES.map((k) => srunDockerProcesses(k)));
    const listenersAfter = await Promise.all(NODES.map((k) => listeningPorts(k, VICTIM_UID)));
    expect(after.map((ps) => ps.map((p) => p.pid).sort())).toEqual(before.map((ps) => ps.map((p) => p.pid).sort()));
    const ports = (ls: typeof listenersBefore) => ls.map((l) => l.map((x) => `${x.address}:${x.port}`).sort());
    expect(ports(listenersAfter)).toEqual(ports(listenersBefore));
    for (const k of NODES) expect(await connectsAs(k, ATTACKER, INSPECTOR_PORT), `node${k}:9229`).toBe(false);

    victim.write("go", "");
    const result = await job.result;
    expect(result.stdout).toContain("VICTIM-SSH-OK");
    // Both reached the script (passed on by the master's srun-docker) and the command its
    // `ssh node2` runs (passed on by that ssh), which trap them; how many times depends on
    // how close together they came (a pending signal is not queued twice).
    const seen = (file: string) => new Set(readFileSync(`${victim.dir}/${file}`, "utf8").trim().split("\n"));
    expect(seen("script.txt")).toEqual(new Set(["USR1", "USR2"]));
    expect(seen("remote.txt")).toEqual(new Set(["USR1", "USR2"]));
    expect(result.code, result.stderr).toBe(3);
    expect(await leftoversOn(NODES, VICTIM_UID)).toEqual({ containers: [], processes: [] });
    figure(
      "SIGUSR1/SIGUSR2 at a running 2-node job",
      `${before.flat().length} processes (${kinds.join(", ")}) each sent USR1 and USR2 twice, after scancel --signal of both: ` +
        `0 new listeners (${listenersBefore.flat().length} before and after), 0 ended, both passed on to the script and through its ssh, 9229 refused to ${ATTACKER} on both nodes, exit 3 as the script said`,
    );
  });
});
