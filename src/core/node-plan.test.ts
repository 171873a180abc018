// planNode as a table (antfu/ni style): a few facts in, the facts that matter out.
import { describe, expect, test } from "vitest";
import { parseAgentConfig } from "./agent-config.js";
import { dryRunStandIns } from "./dry-run.js";
import { type NodePlan, planNode, shouldCountGpus } from "./node-plan.js";
import type { NodePlanInput, NodePlanOptions } from "./node-plan-input.js";
import type { JobPorts } from "./ports.js";
import type { JobContext } from "./slurm-context.js";

const OPTIONS: NodePlanOptions = {
  container: "img:1",
  dockname: undefined,
  launcher: "ssh",
  remote: "sshd",
  sshconfigdir: undefined,
  sshdPort: undefined,
  rendezvousPort: undefined,
  gpus: { kind: "auto" },
  gpuRuntime: "docker",
  slotsPerNode: undefined,
  privileged: false,
  ibdevices: false,
  datamnts: [],
  dockopts: [],
  envlist: [],
  runtime: "docker",
  memlock: { kind: "unlimited" },
  shmSize: "1g",
  limits: "slurm",
  pidsLimit: { kind: "none" },
  scriptArgs: [],
};

function context(rank: number): JobContext {
  const nodes = ["node1", "node2"];
  const nodeName = nodes[rank] ?? "node1";
  return { jobId: "42", stepId: "0", nodes, nodeName, rank, master: "node1", isMaster: rank === 0, inSlurm: true };
}

interface Case {
  options?: Partial<NodePlanOptions>;
  env?: NodeJS.ProcessEnv;
  smi?: number;
  rank?: number;
  imagePath?: string;
  agentBinary?: string;
  boundCpus?: string;
  cgroupV2?: boolean;
  ports?: JobPorts;
}

/** As a run settles them: every remote candidate, the rendezvous and MASTER_PORT it found. */
const PORTS: JobPorts = { remote: [21_008, 27_415, 30_011], rendezvousPort: 21_009, masterPort: 21_010 };

function plan(c: Case): NodePlan {
  const input: NodePlanInput = {
    options: { ...OPTIONS, ...c.options },
    ctx: context(c.rank ?? 0),
    env: c.env ?? {},
    nvidiaSmiGpus: c.smi,
    cpus: { boundCpus: c.boundCpus, onlineCpus: 8, cgroupV2: c.cgroupV2 ?? false },
    identity: {
      user: "alice",
      uid: 1001,
      gid: 1001,
      home: "/home/alice",
      groups: [],
      passwdLine: "alice:x:1001:1001::/home/alice:/bin/bash",
      groupLines: ["alice:x:1001:"],
    },
    ...dryRunStandIns("/home/alice/.srun-docker"),
    imagePath: c.imagePath,
    agentBinary: c.agentBinary,
    scriptPath: "/home/alice/job.sh",
    cwd: "/home/alice",
    ports: c.ports ?? PORTS,
  };
  return planNode(input);
}

/** The facts a user would check in `--dry-run` output. */
function facts(p: NodePlan) {
  const execEnv = new Map(
    p.execArgs.flatMap((arg, i) => (p.execArgs[i - 1] === "-e" ? [[arg.slice(0, arg.indexOf("=")), arg]] : [])),
  );
  const gpuAt = p.runArgs.findIndex((a) => a === "--gpus" || a === "--device" || a === "--runtime=nvidia");
  return {
    gpus: gpuAt < 0 ? "none" : `${p.runArgs[gpuAt]} ${p.runArgs[gpuAt + 1]}`,
    np: execEnv.get("np"),
    visible: p.runArgs.find((a) => a.startsWith("NVIDIA_VISIBLE_DEVICES=")) ?? "-",
    sshd: p.runArgs.includes("srun-docker-sshd") ? p.runArgs[p.runArgs.indexOf("srun-docker-sshd") + 1] : "none",
    files: Object.keys(p.files).join(" "),
    rank: execEnv.get("NODE_RANK"),
    warnings: p.warnings.length,
  };
}

const SSH_FILES = "passwd group hostfile sshd_config authorized_keys known_hosts ssh_config";
const JOB_DIR = "/home/alice/.srun-docker/jobs/42.0/node1";

test.each<[string, Case, Partial<ReturnType<typeof facts>>]>([
  ["no GPUs anywhere: 1 slot, a warning", {}, { gpus: "none", np: "np=2", visible: "-", warnings: 1 }],
  ["nvidia-smi finds 4: every GPU, 4 slots", { smi: 4 }, { gpus: "--gpus all", np: "np=8", warnings: 0 }],
  [
    "Slurm's step GPUs win",
    { env: { SLURM_STEP_GPUS: "0,1", SLURM_GPUS_ON_NODE: "2" }, smi: 8 },
    { gpus: '--gpus "device=0,1"', np: "np=4" },
  ],
  [
    "--gpus=none ignores nvidia-smi",
    { options: { gpus: { kind: "none" } }, smi: 8 },
    { gpus: "none", np: "np=2", warnings: 0 },
  ],
  ["--slots_per_node wins over the GPUs", { options: { slotsPerNode: 3 }, smi: 4 }, { gpus: "--gpus all", np: "np=6" }],
  ["docker --gpus: the exec'd script sees them too", { smi: 2 }, { visible: "NVIDIA_VISIBLE_DEVICES=all" }],
  ["nvidia runtime", { options: { gpuRuntime: "nvidia" }, smi: 2 }, { gpus: "--runtime=nvidia -e" }],
  [
    "podman: CDI devices",
    { options: { runtime: "podman", gpus: { kind: "list", ids: ["3"] } } },
    { gpus: "--device nvidia.com/gpu=3" },
  ],
  ["ssh launcher: generated sshd and ssh files", {}, { sshd: `${JOB_DIR}/sshd_config`, files: SSH_FILES }],
  ["each launcher: no sshd", { options: { launcher: "each" } }, { sshd: "none", files: "passwd group hostfile" }],
  [
    "old mode: the user's sshd config dir",
    { options: { sshconfigdir: "./ssh/" } },
    { sshd: "ssh/sshd_config", files: "passwd group hostfile" },
  ],
  ["an unset --envlist name is warned about", { options: { envlist: ["FOO"] }, smi: 1 }, { warnings: 1 }],
  ["a worker's rank", { rank: 1 }, { rank: "NODE_RANK=1" }],
])("%s", (_name, c, expected) => {
  expect(facts(plan(c))).toMatchObject(expected);
});

test("ports: the run's; sshd starts on the first of the remote ones it can bind, and its clients go to the first", () => {
  const p = plan({});
  expect(p.ports).toEqual(PORTS);
  expect(p.remote).toEqual({ kind: "sshd", ports: [21_008, 27_415, 30_011], awaitedBeforeJob: true });
  const at = p.runArgs.indexOf("srun-docker-sshd");
  expect(p.runArgs.slice(at - 3, at + 5)).toEqual([
    "/bin/sh",
    "-c",
    expect.stringContaining("/usr/sbin/sshd -D -e"),
    "srun-docker-sshd",
    `${JOB_DIR}/sshd_config`,
    "21008",
    "27415",
    "30011",
  ]);
  expect(p.files.ssh_config?.content).toContain("Host node1 node2\n  Port 21008\n");
  expect(p.files.known_hosts?.content).toContain("[node2]:21008 ssh-ed25519");
});

test("ports: where a node's sshd is off the first port, its clients' files say so", () => {
  const p = plan({
    ports: {
      ...PORTS,
      remotePorts: new Map([
        ["node1", 21_008],
        ["node2", 30_011],
      ]),
    },
  });
  expect(p.files.ssh_config?.content).toContain("Host node2\n  Port 30011\n");
  expect(p.files.known_hosts?.content).toContain("[node2]:30011 ssh-ed25519");
});

test("the container is named and labelled for the job, node and user", () => {
  const p = plan({ rank: 1 });
  expect(p.containerName).toBe("srun-docker-alice-42.0-node2");
  expect(p.runArgs).toEqual(
    expect.arrayContaining(["srun-docker.job=42", "srun-docker.node=node2", "srun-docker.uid=1001"]),
  );
  expect(p.execArgs.slice(-2)).toEqual(["srun-docker-alice-42.0-node2", "/home/alice/job.sh"]);
});

test.each<[string, Partial<NodePlanOptions>, NodeJS.ProcessEnv, boolean]>([
  ["auto and nothing known", {}, {}, true],
  ["auto and Slurm counted them", {}, { SLURM_GPUS_ON_NODE: "2" }, false],
  ["auto and CUDA_VISIBLE_DEVICES set", {}, { CUDA_VISIBLE_DEVICES: "0" }, false],
  ["--gpus=all", { gpus: { kind: "all" } }, {}, false],
])("nvidia-smi asked when %s?", (_name, options, env, expected) => {
  expect(shouldCountGpus({ ...OPTIONS, ...options }, env)).toBe(expected);
});

describe("--remote=agent", () => {
  const AGENT = { options: { remote: "agent" as const }, agentBinary: "/home/alice/bin/srun-docker" };
  const agentPlan = (c: Case = {}) => plan({ ...AGENT, ...c, options: { ...AGENT.options, ...c.options } });
  const env = (p: NodePlan) =>
    new Map(
      p.runArgs.flatMap((a, i): [string, string][] =>
        p.runArgs[i - 1] === "-e" ? [[a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]] : [],
      ),
    );

  test.each<[string, Case, string]>([
    ["ssh launcher: the agent server is the main process, no sshd files", {}, "passwd group hostfile agent.json"],
    [
      "each launcher: the agent is there too, for scripts that call ssh",
      { options: { launcher: "each" } },
      "passwd group hostfile agent.json",
    ],
  ])("%s", (_name, c, files) => {
    const p = agentPlan(c);
    expect(Object.keys(p.files).join(" ")).toBe(files);
    expect(p.runArgs.slice(-2)).toEqual(["/opt/srun-docker/bin/srun-docker", "agent-server"]);
    expect(p.runArgs).not.toContain("srun-docker-sshd");
    expect(p.remote).toEqual({ kind: "agent", ports: PORTS.remote, awaitedBeforeJob: false });
  });

  test("the binary is mounted read-only as the server and as ssh, first on the image's own PATH", () => {
    const p = agentPlan({ imagePath: "/opt/conda/bin:/usr/bin" });
    expect(p.runArgs.join(" ")).toContain(
      "-v /home/alice/bin/srun-docker:/opt/srun-docker/bin/srun-docker:ro -v /home/alice/bin/srun-docker:/opt/srun-docker/bin/ssh:ro",
    );
    const e = env(p);
    expect(e.get("PATH")).toBe("/opt/srun-docker/bin:/opt/conda/bin:/usr/bin");
    expect(e.get("OMPI_MCA_plm")).toBe("rsh");
    for (const name of ["OMPI_MCA_plm_rsh_agent", "PRTE_MCA_plm_ssh_agent", "HYDRA_LAUNCHER_EXEC"])
      expect(e.get(name)).toBe("/opt/srun-docker/bin/ssh");
    expect(e.get("SRUN_DOCKER_AGENT_CONFIG")).toBe(`${JOB_DIR}/agent.json`);
    expect(agentPlan().runArgs).toContain(
      "PATH=/opt/srun-docker/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    );
  });

  test("the agent's config: every node, the ports every agent tries, where it says its own, the secret's path, this node's job environment", () => {
    const p = agentPlan({ rank: 1 });
    const file = p.files["agent.json"];
    expect(file?.mode).toBe(0o600);
    const config = JSON.parse(file?.content ?? "{}");
    expect(config).toMatchObject({
      v: 2,
      jobKey: "42.0",
      user: "alice",
      node: "node2",
      secretFile: "/home/alice/.srun-docker/secret",
      nodes: [
        { name: "node1", address: "node1" },
        { name: "node2", address: "node2" },
      ],
      ports: [21_008, 27_415, 30_011],
      portFile: "/run/srun-docker/remote.port",
    });
    expect(config.env).toMatchObject({ NODE_RANK: "1", np: "2", HOME: "/home/alice", USER: "alice" });
    expect(config.env.PATH).toMatch(/^\/opt\/srun-docker\/bin:/);
    expect(parseAgentConfig("agent.json", file?.content ?? "")).toMatchObject({ ok: true });
  });

  test("without the single executable (the .cjs bundle) it says what to do", () => {
    expect(() => plan(AGENT.options && { options: AGENT.options })).toThrow(
      expect.objectContaining({ code: "agent-binary", hint: expect.stringContaining("--remote=sshd") }),
    );
  });
});

describe("limits from the allocation", () => {
  test("a bound step with --mem: cpuset and memory before the user's own options, which win", () => {
    const planned = plan({
      env: { SLURM_MEM_PER_NODE: "256", SLURM_CPUS_ON_NODE: "1" },
      boundCpus: "1",
      options: { dockopts: ["--ipc=host"] },
    });
    const args = planned.runArgs;
    const at = (word: string) => args.indexOf(word);
    expect(args).toContain("--cpuset-cpus=1");
    expect(args).toContain("--memory=268435456b");
    expect(args).toContain("--memory-swap=268435456b");
    expect(at("--memory=268435456b")).toBeLessThan(at("--ipc=host"));
    expect(at("--ipc=host")).toBeLessThan(at("img:1"));
    expect(planned.limits.cpuset?.value).toBe("1");
  });

  test("--limits=none: no limit options", () => {
    const planned = plan({ env: { SLURM_MEM_PER_NODE: "256" }, boundCpus: "1", options: { limits: "none" } });
    expect(planned.runArgs.join(" ")).not.toMatch(/--cpuset-cpus|--memory|--cpus|--pids-limit/);
  });
});

test("rootless Podman on cgroup v1 cannot apply limits: none passed, and the user is told", () => {
  const planned = plan({ env: { SLURM_MEM_PER_NODE: "256" }, options: { runtime: "podman" } });
  expect(planned.runArgs.join(" ")).not.toMatch(/--memory|--pids-limit/);
  expect(planned.warnings.join("\n")).toMatch(/rootless Podman cannot limit a container on cgroup v1/);
  const v2 = plan({ env: { SLURM_MEM_PER_NODE: "256" }, options: { runtime: "podman" }, cgroupV2: true });
  expect(v2.runArgs).toContain("--memory=268435456b");
  expect(v2.warnings.join("\n")).not.toMatch(/cgroup v1/);
});
