// README "Security", bounded logs, tried for real: another user (erin) floods a running job of
// frank's with forged hellos and junk, on node2's agent (whose lines go to the container's own
// log, on the engine's disk) and on the master's rendezvous port (whose lines go to the Slurm
// output file with --debug). Each server counts what it refuses and says one line per window,
// so both logs grow by a few lines, not a line per connection; the container's log is capped
// besides; the job runs on and ends with its script's code; nothing is left. Users: frank
// (victim) and erin (attacker); no other file runs frank's jobs at the same time.
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { logLimitArgs } from "../../src/core/limits/index.js";
import { installAttackerPrograms, listeningPorts, refusalSummaries, startInNode } from "./attacker.js";
import {
  cancelAllJobs,
  clusterSize,
  figure,
  findNodeProcesses,
  IMAGE,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  startAs,
  USERS,
  waitFor,
} from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const VICTIM = "frank";
const VICTIM_UID = USERS.frank;
const ATTACKER = "erin";
const ATTACKER_UID = USERS.erin;
const address = (k: number) => `10.213.0.${k}`;
/** A summary line as the json-file driver stores it: the line, its stream and time, as JSON. */
const STORED_LINE_BYTES = 400;
/** The agent's and the master's windows (src/core/channel/refusal-tally.ts). */
const SUMMARY_EVERY_S = 10;

let victim: Workspace;
let attacker: Workspace;

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  victim = createWorkspace(VICTIM, VICTIM_UID);
  attacker = createWorkspace(ATTACKER, ATTACKER_UID);
  installAttackerPrograms(attacker);
});

afterEach(async () => {
  await cancelAllJobs(VICTIM, VICTIM_UID, [1, 2]);
  const left: number[] = [];
  for (const k of [1, 2, 3, 4])
    left.push(...(await findNodeProcesses(k, ATTACKER_UID, new RegExp(`${attacker.dir}/\\w+\\.cjs`))));
  for (const pid of left) process.kill(pid, "SIGKILL");
  expect(left, "the attacker's programs outlived their case").toEqual([]);
});

interface ForgeSummary {
  attempts: number;
  hellos: number;
  junk: number;
  rejected: number;
  closed: number;
  errors: Record<string, number>;
  ms: number;
}

/** erin's forged hellos from node K (attacker/forge.cjs), `count` of them, `parallel` at a time. */
function forge(k: number, host: string, port: number, protocol: "agent" | "rendezvous", count: number) {
  const program = startInNode(k, ATTACKER, `node ${attacker.dir}/forge.cjs ${host} ${port} ${protocol} ${count} 32`);
  return (async (): Promise<ForgeSummary> => {
    await program.line(/^\{.*\}$/m, 300_000);
    const r = await program.stop();
    return JSON.parse(r.stdout.split("\n").filter(Boolean).at(-1) ?? "{}") as ForgeSummary;
  })();
}

/** Bytes of a file in node K (as root: a container's log is docker's). */
async function sizeIn(k: number, file: string): Promise<number> {
  const r = await inNode(k, ["stat", "-c", "%s", file]);
  if (r.code !== 0) throw new Error(`node${k}: stat ${file}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

const counted = (text: string) => refusalSummaries(text).reduce((sum, s) => sum + s.total, 0);

describe("a flood of forged hellos", () => {
  test("grows the container's log and the Slurm output by a line per 10 s, not a line per connection; the job runs on", async () => {
    victim.write(
      "victim.sh",
      `#!/bin/bash
echo VICTIM-WAITING
for i in $(seq 1 3000); do [ -e go ] && break; sleep 0.1; done
[ -e go ] || { echo VICTIM-NO-GO; exit 9; }
ssh node2 echo VICTIM-REACHED-NODE2
exit 3
`,
      0o755,
    );
    const output = `${victim.dir}/job.out`;
    const job = startAs(
      VICTIM,
      `cd ${victim.dir} && sbatch --wait -N 2 -w node[1-2] -J sec-logs -o ${output} --wrap 'srun srun-docker --debug --container=${NOSSH_IMAGE} --script=./victim.sh'`,
      600_000,
    );
    const out = () => inNode(1, ["cat", output]).then((r) => r.stdout);
    await waitFor("the victim's script to wait", async () => (await out()).includes("VICTIM-WAITING"), 180_000, 250);
    const ports = /\[node1 master\] ports: rendezvous (\d+),/.exec(await out());
    const rendezvousPort = Number(ports?.[1]);
    // Only the agent listens on node2 (a worker runs no server of its own).
    const node2 = await listeningPorts(2, VICTIM_UID);
    expect(node2).toHaveLength(1);
    const agentPort = node2[0]?.port ?? 0;
    expect(rendezvousPort).toBeGreaterThan(0);
    const container = (
      await inNode(2, ["docker", "ps", "-q", "--filter", `label=srun-docker.uid=${VICTIM_UID}`])
    ).stdout.trim();
    const docker = async (format: string) =>
      (await inNode(2, ["docker", "inspect", "-f", format, container])).stdout.trim();
    const logConfig = JSON.parse(await docker("{{json .HostConfig.LogConfig}}")) as unknown;
    const logPath = await docker("{{.LogPath}}");
    // The container's own log is capped: the json-file driver, named, with its size and files.
    expect(logConfig).toEqual({ Type: "json-file", Config: { "max-file": "2", "max-size": "4m" } });
    const before = { log: await sizeIn(2, logPath), output: await sizeIn(1, output) };

    const startedAt = Date.now();
    const [agent, master] = await Promise.all([
      forge(3, address(2), agentPort, "agent", 4000),
      forge(3, address(1), rendezvousPort, "rendezvous", 4000),
    ]);
    const floodS = (Date.now() - startedAt) / 1000;
    // The last window's line comes at most 10 s after the one before it.
    const agentLines = await waitFor(
      "node2's agent to count every refusal",
      async () => {
        const logs = await inNode(2, ["docker", "logs", container]);
        const text = `${logs.stdout}${logs.stderr}`;
        return counted(text) >= agent.attempts ? refusalSummaries(text) : undefined;
      },
      30_000,
      500,
    );
    const masterLines = await waitFor(
      "the master to count every refusal",
      async () => {
        const text = await out();
        return counted(text) >= master.attempts ? refusalSummaries(text) : undefined;
      },
      30_000,
      500,
    );
    const after = { log: await sizeIn(2, logPath), output: await sizeIn(1, output) };
    const windows = Math.ceil((floodS + SUMMARY_EVERY_S) / SUMMARY_EVERY_S) + 1;

    figure(
      "forged hellos on a running job's agent (node2) and rendezvous (node1) ports, from node3",
      `agent: ${agent.attempts} attempts in ${(agent.ms / 1000).toFixed(1)} s (${agent.hellos} forged hellos, ${agent.junk} junk), ${agent.rejected} told "authentication failed", all ${counted(agentLines.map((s) => s.line).join("\n"))} counted in ${agentLines.length} lines; container log ${before.log} → ${after.log} bytes (+${after.log - before.log}). master (--debug): ${master.attempts} attempts, ${counted(masterLines.map((s) => s.line).join("\n"))} counted in ${masterLines.length} lines; Slurm output ${before.output} → ${after.output} bytes (+${after.output - before.output})`,
    );
    figure("the summary lines", [...agentLines, ...masterLines].map((s) => s.line.trim()).join(" / "));
    for (const [lines, summary, who] of [
      [agentLines, agent, "[node2 agent] refused"],
      [masterLines, master, "[node1 master] rendezvous: refused"],
    ] as const) {
      expect(lines.reduce((sum, s) => sum + s.total, 0)).toBe(summary.attempts);
      expect(lines.every((s) => s.line.includes(who) && s.busiest === address(3))).toBe(true);
      // One line per window: the first a second after the flood began, then one every 10 s.
      expect(lines.length).toBeLessThanOrEqual(windows);
    }
    expect(agent.attempts).toBe(4000);
    expect(agent.rejected).toBeGreaterThanOrEqual(agent.hellos);
    expect(agentLines.reduce((sum, s) => sum + (s.kinds.rejected ?? 0), 0)).toBeGreaterThanOrEqual(agent.hellos);
    expect(after.log - before.log).toBeLessThanOrEqual(windows * STORED_LINE_BYTES);
    const grown = Buffer.from(await out())
      .subarray(before.output, after.output)
      .toString();
    expect(after.output - before.output, `the Slurm output grew by:\n${grown}`).toBeLessThanOrEqual(
      windows * STORED_LINE_BYTES,
    );

    victim.write("go", "");
    const r = await job.result;
    const said = (await out()).trim();
    expect(r.code, said).toBe(3);
    expect(said).toContain("VICTIM-REACHED-NODE2");
    await waitFor(
      "the victim's job to leave nothing",
      async () => {
        const left = await leftoversOn([1, 2], VICTIM_UID);
        return left.containers.length === 0 && left.processes.length === 0;
      },
      60_000,
      500,
    );
  }, 600_000);
});

/** Rootless Podman as `user` inside node K, with none of root's environment (as test/cluster/lib.sh). */
function asPodmanUser(k: number, user: string, script: string) {
  const env = [`HOME=/home/${user}`, `USER=${user}`, `LOGNAME=${user}`, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"];
  return inNode(k, ["runuser", "-u", user, "--", "env", "-i", "-C", "/", ...env, "sh", "-c", script], 120_000);
}

describe("rootless Podman's container log", () => {
  test("keeps to the size srun-docker passes (k8s-file, here the default): 12 MB written, at most 4 MB kept", async () => {
    // erin's Podman store holds the test image (test/cluster/lib.sh); node4 runs no job here.
    const options = logLimitArgs("podman", []).join(" ");
    const name = `sdtc-log-cap-${process.pid}`;
    const r = await asPodmanUser(
      4,
      ATTACKER,
      `podman info --format '{{.Host.LogDriver}}' && podman run --net=host --name ${name} ${options} ${IMAGE} sh -c 'yes srun-docker-log-cap-line | head -c 12000000' >/dev/null && podman inspect -f '{{.HostConfig.LogConfig.Type}} {{.HostConfig.LogConfig.Size}} {{.HostConfig.LogConfig.Path}}' ${name}`,
    );
    try {
      expect(r.code, r.stderr).toBe(0);
      const [driver, type, size, logPath] = r.stdout.trim().split(/\s+/);
      const kept = Number((await inNode(4, ["stat", "-c", "%s", logPath ?? ""])).stdout.trim());
      figure(
        "rootless Podman's container log",
        `default driver ${driver}; ${options}: 12 MB written, ${kept} bytes kept`,
      );
      expect([driver, type]).toEqual(["k8s-file", "k8s-file"]);
      expect(size).toMatch(/^4\s*MB$|^4000000$|^4\.0MB$/);
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThanOrEqual(4_000_000);
    } finally {
      await asPodmanUser(4, ATTACKER, `podman rm -f ${name} >/dev/null 2>&1; podman system migrate`);
    }
  });
});
