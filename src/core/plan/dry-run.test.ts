import { expect, test } from "vitest";
import type { JobContext } from "../slurm/index.js";
import { renderDryRun } from "./dry-run.js";
import type { NodePlan } from "./node-plan.js";

const PLAN: NodePlan = {
  containerName: "c-node1",
  jobDir: "/h/.srun-docker/jobs/7.0/node1",
  runArgs: ["run", "-d", "--name", "c-node1", "img:1", "/bin/sh", "-c", "echo 'hi' $X"],
  exec: { name: "c-node1", user: undefined, workdir: undefined, env: {}, command: ["/h/job.sh"] },
  execArgs: ["exec", "c-node1", "/h/job.sh"],
  files: { passwd: { content: "", mode: 0o644 }, hostfile: { content: "", mode: 0o644 } },
  remote: { kind: "sshd", ports: [2222], awaitedBeforeJob: true },
  switchDir: "/h/.srun-docker/jobs/7.0/node1/switch",
  slurmRelay: undefined,
  ports: { remote: [2222], rendezvousPort: 3333, masterPort: 4444 },
  gpus: { deviceIds: [], slots: 1, warnings: [] },
  limits: {},
  warnings: [],
};

function ctx(rank: number): JobContext {
  const nodes = ["node1", "node2"];
  return {
    jobId: "7",
    stepId: "0",
    nodes,
    nodeName: nodes[rank] ?? "",
    rank,
    master: "node1",
    isMaster: rank === 0,
    restartCount: 0,
    inSlurm: true,
  };
}

test("the master's dry run: where, the run line quoted for a shell, the script, the teardown", () => {
  expect(renderDryRun({ runtime: "docker", launcher: "ssh", limits: "slurm" }, ctx(0), PLAN)).toBe(
    [
      "# node1 (master, rank 0 of 2), job 7.0",
      "# rendezvous node1:3333, sshd port 2222, MASTER_PORT 4444",
      "# files in /h/.srun-docker/jobs/7.0/node1: passwd, hostfile; switch/lifeline (a FIFO held open while srun-docker runs)",
      "# limits: none (Slurm set no CPU or memory limit)",
      `docker run -d --name c-node1 img:1 /bin/sh -c "echo 'hi' \\$X"`,
      "docker exec c-node1 /h/job.sh",
      "docker rm -f c-node1  # teardown (Engine API DELETE /containers/NAME?force=1, confirmed)",
      "",
    ].join("\n"),
  );
});

type Remote = NodePlan["remote"];
const SSHD: Remote = { kind: "sshd", ports: [2222], awaitedBeforeJob: true };
const AGENT: Remote = { kind: "agent", ports: [2222, 2229], awaitedBeforeJob: false };

test.each<[string, "ssh" | "each", "docker" | "podman", number, Remote, RegExp, RegExp | undefined]>([
  ["an ssh worker runs no script", "ssh", "docker", 1, SSHD, /sshd port 2222/, /exec/],
  // With --remote=sshd the each launcher runs no sshd (the agent would be there).
  ["an each worker runs the script too", "each", "docker", 1, undefined, /docker exec c-node1/, /sshd port/],
  [
    "the agent's ports are shown as the agent's, each tried in turn",
    "ssh",
    "docker",
    0,
    AGENT,
    /node1:3333, agent on the first free of ports 2222 2229, MASTER_PORT 4444$/m,
    /sshd|stand-in/,
  ],
  [
    "podman's removal skips its stop grace",
    "ssh",
    "podman",
    0,
    SSHD,
    /podman rm -f -t 0 c-node1 {2}# teardown \(confirmed\)/,
    undefined,
  ],
])("%s", (_name, launcher, runtime, rank, remote, has, hasNot) => {
  const text = renderDryRun({ runtime, launcher, limits: "slurm" }, ctx(rank), { ...PLAN, remote });
  expect(text).toMatch(has);
  if (hasNot !== undefined) expect(text).not.toMatch(hasNot);
});

test("ports drawn from a stand-in secret (none made yet) are said to be", () => {
  const text = renderDryRun({ runtime: "docker", launcher: "ssh", limits: "slurm" }, ctx(0), PLAN, true);
  expect(text).toContain(
    "# rendezvous node1:3333, sshd port 2222, MASTER_PORT 4444 (from a stand-in secret: the first run makes yours, which your ports are drawn from)\n",
  );
});

test.each([
  [
    "slurm",
    { memoryBytes: { value: 268435456, from: "--mem" } },
    "# limits: memory 256 MiB, no swap beyond it (from --mem)",
  ],
  ["slurm", {}, "# limits: none (Slurm set no CPU or memory limit)"],
  ["none", {}, "# limits: none (--limits=none)"],
] as const)("--limits=%s with %j: the dry run says %s", (limits, planned, line) => {
  expect(renderDryRun({ runtime: "docker", launcher: "ssh", limits }, ctx(0), { ...PLAN, limits: planned })).toContain(
    `${line}\n`,
  );
});
