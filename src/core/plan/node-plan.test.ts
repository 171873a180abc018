// planNode as a table (antfu/ni style): a few facts in, the facts that matter out.
import { describe, expect, test } from "vitest";
import { type AgentProgram, parseAgentConfig } from "../agent/index.js";
import { type ContainerShape, DEFAULT_SHAPE } from "../engine/index.js";
import { shouldCountGpus } from "../limits/index.js";
import type { JobPorts } from "../ports/index.js";
import type { JobContext } from "../slurm/index.js";
import { dryRunStandIns, renderDryRun } from "./dry-run.js";
import { type NodePlan, planNode } from "./node-plan.js";
import type { JobKeys, NodePlanInput, NodePlanOptions } from "./node-plan-input.js";

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
  return {
    jobId: "42",
    stepId: "0",
    restartCount: 0,
    nodes,
    nodeName,
    rank,
    master: "node1",
    isMaster: rank === 0,
    inSlurm: true,
  };
}

interface Case {
  options?: Partial<NodePlanOptions>;
  env?: NodeJS.ProcessEnv;
  smi?: number;
  rank?: number;
  imagePath?: string;
  agentProgram?: AgentProgram;
  boundCpus?: string;
  cgroupV2?: boolean;
  keys?: JobKeys;
  ports?: JobPorts;
  named?: { name: string; image: string };
}

const standIns = dryRunStandIns("/home/alice/.srun-docker");

/** As a run settles them: every remote candidate, the rendezvous and MASTER_PORT it found. */
const PORTS: JobPorts = { remote: [21_008, 27_415, 30_011], rendezvousPort: 21_009, masterPort: 21_010 };

function plan(c: Case): NodePlan {
  return planNode(planInput(c));
}

function planInput(c: Case): NodePlanInput {
  return {
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
    ...standIns,
    keys: c.keys ?? standIns.keys,
    imagePath: c.imagePath,
    agentProgram: c.agentProgram,
    scriptPath: "/home/alice/job.sh",
    cwd: "/home/alice",
    ports: c.ports ?? PORTS,
    named: c.named,
  };
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

const SSH_FILES =
  "passwd group hostfile ssh_host_ed25519_key id_ed25519 sshd_config authorized_keys known_hosts ssh_config";
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
  // The script's pid is recorded first, so Slurm's checkpoint signals can be passed on to it.
  expect(p.execArgs.slice(-6)).toEqual([
    "srun-docker-alice-42.0-node2",
    "/bin/sh",
    "-c",
    'echo $$ >"$0" && exec "$@"',
    "/run/srun-docker/script.pid",
    "/home/alice/job.sh",
  ]);
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
  const AGENT = {
    options: { remote: "agent" as const },
    agentProgram: { kind: "executable" as const, path: "/home/alice/bin/srun-docker" },
  };
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

  test("Slurm's six commands are the same binary, and name this node's relay in the job dir", () => {
    const p = agentPlan();
    for (const name of ["scontrol", "squeue", "sacct", "sbatch", "scancel", "srun"])
      expect(p.runArgs.join(" ")).toContain(`-v /home/alice/bin/srun-docker:/opt/srun-docker/bin/${name}:ro`);
    expect(env(p).get("SRUN_DOCKER_SLURM_RELAY")).toBe(`${JOB_DIR}/slurm.sock`);
    expect(p.slurmRelay).toBe(`${JOB_DIR}/slurm.sock`);
  });

  test("without the agent, no relay: sshd mode and the srun launcher", () => {
    const sshd = plan({ options: { remote: "sshd" } });
    const srun = plan({ options: { remote: "agent", launcher: "srun" } });
    for (const p of [sshd, srun]) {
      expect(p.slurmRelay).toBeUndefined();
      expect(p.runArgs.join(" ")).not.toMatch(/scontrol|SRUN_DOCKER_SLURM_RELAY/);
    }
  });

  test("the agent's config: every node, the ports every agent tries, where it says its own, the job's secret, this node's job environment", () => {
    const p = agentPlan({ rank: 1, keys: { ...standIns.keys, secret: Buffer.alloc(32, 7) } });
    const file = p.files["agent.json"];
    expect(file?.mode).toBe(0o600);
    const config = JSON.parse(file?.content ?? "{}");
    expect(config).toMatchObject({
      v: 3,
      jobKey: "42.0",
      user: "alice",
      node: "node2",
      secret: "07".repeat(32),
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

  test("from the .cjs bundle: the launcher runs the mounted Node on the mounted bundle, and it alone is executable", () => {
    const bundle: AgentProgram = { kind: "bundle", node: "/usr/bin/node", bundle: "/n/srun-docker.cjs" };
    const p = agentPlan({ agentProgram: bundle });
    expect(p.files["agent-launcher"]).toEqual({
      content: '#!/opt/srun-docker/lib/node\nrequire("/opt/srun-docker/lib/srun-docker.cjs");\n',
      mode: 0o755,
    });
    expect(p.runArgs.slice(-2)).toEqual(["/opt/srun-docker/bin/srun-docker", "agent-server"]);
    expect(agentPlan().files["agent-launcher"]).toBeUndefined();
  });

  test("run from neither the single executable nor the bundle, it says what to do", () => {
    expect(() => plan(AGENT.options && { options: AGENT.options })).toThrow(
      expect.objectContaining({ code: "agent-binary", hint: expect.stringContaining("--remote=sshd") }),
    );
  });
});

describe("the job's Slurm variables (core/slurm/slurm-env.ts)", () => {
  const SLURM = {
    SLURM_JOB_ID: "42",
    SLURM_JOBID: "42",
    SLURM_ARRAY_TASK_ID: "3",
    SLURM_JOB_NODELIST: "node[1-2]",
    SLURM_NTASKS: "2",
    SLURM_PROCID: "1",
    SLURM_JOB_NAME: 'a "quoted" name',
    HOME: "/home/alice",
  };

  test("the script's exec takes them by name from the caller, ours by value", () => {
    const p = plan({ env: SLURM, rank: 1 });
    expect(p.exec.envNames).toEqual(["SLURM_ARRAY_TASK_ID", "SLURM_JOB_NAME", "SLURM_JOB_NODELIST"]);
    expect(p.exec.env.SLURM_JOB_ID).toBe("42");
    expect(p.execArgs.join(" ")).toContain("-e SLURM_ARRAY_TASK_ID -e SLURM_JOB_NAME -e SLURM_JOB_NODELIST -e ");
    expect(p.execArgs.join(" ")).not.toMatch(/SLURM_ARRAY_TASK_ID=|SLURM_NTASKS|SLURM_PROCID|SLURM_JOBID/);
  });

  test("the agent's commands get their values; srun-docker's own task and our variables are not overridden", () => {
    const p = plan({
      env: { ...SLURM, SLURM_JOB_ID: "999" },
      rank: 1,
      options: { remote: "agent" },
      agentProgram: { kind: "executable" as const, path: "/b" },
    });
    const config = JSON.parse(p.files["agent.json"]?.content ?? "{}");
    expect(config.env).toMatchObject({
      SLURM_ARRAY_TASK_ID: "3",
      SLURM_JOB_NODELIST: "node[1-2]",
      SLURM_JOB_ID: "42",
      NODE_RANK: "1",
    });
    expect(config.env.SLURM_NTASKS).toBeUndefined();
    expect(config.env.SLURM_PROCID).toBeUndefined();
    expect(config.env.SLURM_JOBID).toBeUndefined();
  });

  test("sshd's commands get them through authorized_keys", () => {
    const keys = plan({ env: SLURM }).files.authorized_keys?.content ?? "";
    expect(keys).toContain('environment="SLURM_ARRAY_TASK_ID=3"');
    expect(keys).toContain('environment="SLURM_JOB_NAME=a \\"quoted\\" name"');
    expect(keys).not.toContain("SLURM_PROCID");
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

describe("the container's own log is capped whatever --limits says, unless --dockopts set it", () => {
  const logArgs = (p: NodePlan) => p.runArgs.filter((a) => a.startsWith("--log-"));
  test("docker: json-file, 4m, two files, before the user's options and the image", () => {
    const planned = plan({ options: { limits: "none", dockopts: ["--ipc=host"] } });
    expect(logArgs(planned)).toEqual(["--log-driver=json-file", "--log-opt=max-size=4m", "--log-opt=max-file=2"]);
    const args = planned.runArgs;
    expect(args.indexOf("--log-opt=max-file=2") + 1).toBe(args.indexOf("--ipc=host"));
  });
  test("podman: max-size only", () => {
    expect(logArgs(plan({ options: { runtime: "podman" } }))).toEqual(["--log-opt=max-size=4m"]);
  });
  test("the user's log options: only theirs", () => {
    expect(logArgs(plan({ options: { dockopts: ["--log-opt=max-size=1g"] } }))).toEqual(["--log-opt=max-size=1g"]);
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

describe("--envlist values: on no command line, in no dry run", () => {
  const TOKEN = "hf_s3cret-value";
  const envlisted = (c: Case) =>
    plan({ ...c, env: { HF_TOKEN: TOKEN, ...c.env }, options: { envlist: ["HF_TOKEN"], ...c.options } });

  const sshF = `ssh -F ${JOB_DIR}/ssh_config`;
  const SSHD = [`OMPI_MCA_plm_rsh_agent=${sshF}`, `PRTE_MCA_plm_ssh_agent=${sshF}`];
  test.each<[string, Case, string[]]>([
    ["docker, sshd", {}, SSHD],
    ["podman, sshd", { options: { runtime: "podman" } }, SSHD],
    ["each launcher", { options: { launcher: "each" } }, []],
  ])("%s: the exec names HF_TOKEN and holds no value", (_name, c, ssh) => {
    const p = envlisted(c);
    const values = [
      ...["hostlist=node1:1,node2:1", "np=2", "NNODES=2", "NODE_RANK=0", "NPROC_PER_NODE=1"],
      ...["MASTER_ADDR=node1", "MASTER_PORT=21010", "WORLD_SIZE=2", `HOSTFILE=${JOB_DIR}/hostfile`, "SLURM_JOB_ID=42"],
      "ENVLIST=HF_TOKEN",
      ...ssh,
    ];
    expect(p.execArgs).toEqual([
      ...["exec", "-u", "1001:1001", "-w", "/home/alice", "-e", "HF_TOKEN"],
      ...values.flatMap((value) => ["-e", value]),
      ...["srun-docker-alice-42.0-node1", "/bin/sh", "-c", 'echo $$ >"$0" && exec "$@"'],
      ...["/run/srun-docker/script.pid", "/home/alice/job.sh"],
    ]);
    expect(p.exec.env).toMatchObject({ ENVLIST: "HF_TOKEN", MASTER_PORT: "21010" });
    expect(p.exec.envNames).toEqual(["HF_TOKEN"]);
    expect(p.runArgs.join(" ")).toMatch(/ -e HF_TOKEN /);
    expect([...p.runArgs, ...p.execArgs].join(" ")).not.toContain(TOKEN);
  });

  test("the dry run prints the name; only the user's own 0600 job files hold the value", () => {
    const p = envlisted({
      options: { remote: "agent" },
      agentProgram: { kind: "executable" as const, path: "/home/alice/bin/srun-docker" },
    });
    const text = renderDryRun({ runtime: "docker", launcher: "ssh", limits: "slurm" }, context(0), p);
    expect(text).toMatch(
      /^docker exec -u 1001:1001 -w \/home\/alice -e HF_TOKEN -e hostlist=node1:1,node2:1 -e np=2 /m,
    );
    expect(text).not.toContain(TOKEN);
    const holding = Object.entries(p.files).filter(([, file]) => file.content.includes(TOKEN));
    expect(holding.map(([name, file]) => [name, file.mode])).toEqual([["agent.json", 0o600]]);
    const sshd = envlisted({});
    expect(sshd.files.authorized_keys).toMatchObject({ mode: 0o600, content: expect.stringContaining(TOKEN) });
  });

  test("a name srun-docker sets itself keeps our value, passed as before", () => {
    const p = envlisted({ options: { envlist: ["HF_TOKEN", "MASTER_PORT"] }, env: { MASTER_PORT: "1" } });
    expect(p.exec.envNames).toEqual(["HF_TOKEN"]);
    expect(p.execArgs).toContain("MASTER_PORT=21010");
  });
});

describe("the job's keys", () => {
  test("the job's keys are in its job dir, the user's secret is named nowhere", () => {
    const keys: JobKeys = {
      secret: Buffer.alloc(32, 9),
      sshHost: { privateKey: "HOST PRIVATE", publicKey: "ssh-ed25519 HOSTPUB host" },
      sshClient: { privateKey: "CLIENT PRIVATE", publicKey: "ssh-ed25519 CLIENTPUB client" },
    };
    const sshd = plan({ keys });
    expect(sshd.files.ssh_host_ed25519_key).toEqual({ content: "HOST PRIVATE", mode: 0o600 });
    expect(sshd.files.id_ed25519).toEqual({ content: "CLIENT PRIVATE", mode: 0o600 });
    expect(sshd.files.sshd_config?.content).toContain(`HostKey ${JOB_DIR}/ssh_host_ed25519_key\n`);
    expect(sshd.files.ssh_config?.content).toContain(`IdentityFile ${JOB_DIR}/id_ed25519\n`);
    expect(sshd.files.known_hosts?.content).toBe(
      "[node1]:21008 ssh-ed25519 HOSTPUB\n[node2]:21008 ssh-ed25519 HOSTPUB\n",
    );
    expect(sshd.files.authorized_keys?.content).toMatch(/no-X11-forwarding ssh-ed25519 CLIENTPUB client\n$/);
    const agent = plan({
      keys,
      options: { remote: "agent" },
      agentProgram: { kind: "executable" as const, path: "/bin/srun-docker" },
    });
    for (const p of [sshd, agent]) {
      const everything = [...p.runArgs, ...p.execArgs, ...Object.values(p.files).map((f) => f.content)].join("\n");
      expect(everything).not.toContain("/home/alice/.srun-docker/secret");
      expect(everything).not.toMatch(/\/home\/alice\/\.srun-docker\/(?!jobs\/42\.0\/node1)/);
    }
  });
});

describe("what the container sees of the user's srun-docker directory: this node's job dir only", () => {
  /** The run's mounts in order: `-v` and `--tmpfs` with their values. */
  const mountArgs = (p: NodePlan) =>
    p.runArgs.flatMap((a, i) => (a === "-v" || a === "--tmpfs" ? [`${a} ${p.runArgs[i + 1]}`] : []));
  const HOME = "-v /home/alice:/home/alice";
  const ACCOUNTS = [`-v ${JOB_DIR}/passwd:/etc/passwd:ro`, `-v ${JOB_DIR}/group:/etc/group:ro`];
  const MASK = ["--tmpfs /home/alice/.srun-docker:ro,uid=1001,gid=1001", `-v ${JOB_DIR}:${JOB_DIR}`];
  const SWITCH = `-v ${JOB_DIR}/switch:/run/srun-docker`;
  const BIN = "/home/alice/bin/srun-docker";
  // The same file as the agent, `ssh`, and the Slurm relay's six clients.
  const AGENT_BIN = ["srun-docker", "ssh", "scontrol", "squeue", "sacct", "sbatch", "scancel", "srun"].map(
    (name) => `-v ${BIN}:/opt/srun-docker/bin/${name}:ro`,
  );

  test.each<[string, Case, string[]]>([
    [
      "--remote=sshd: its client config too",
      {},
      [HOME, ...ACCOUNTS, `-v ${JOB_DIR}/ssh_config:/etc/ssh/ssh_config:ro`, ...MASK, SWITCH],
    ],
    [
      "--remote=agent: the agent's binary",
      { options: { remote: "agent" }, agentProgram: { kind: "executable" as const, path: BIN } },
      [HOME, ...ACCOUNTS, ...MASK, ...AGENT_BIN, SWITCH],
    ],
    [
      "--remote=agent from the .cjs bundle: the launcher as every name, the Node running it and the bundle",
      {
        options: { remote: "agent" },
        agentProgram: { kind: "bundle", node: "/usr/bin/node", bundle: "/opt/npm/lib/srun-docker.cjs" },
      },
      [
        HOME,
        ...ACCOUNTS,
        ...MASK,
        `-v ${JOB_DIR}/agent-launcher:/opt/srun-docker/bin/srun-docker:ro`,
        `-v ${JOB_DIR}/agent-launcher:/opt/srun-docker/bin/ssh:ro`,
        "-v /usr/bin/node:/opt/srun-docker/lib/node:ro",
        "-v /opt/npm/lib/srun-docker.cjs:/opt/srun-docker/lib/srun-docker.cjs:ro",
        ...["scontrol", "squeue", "sacct", "sbatch", "scancel", "srun"].map(
          (name) => `-v ${JOB_DIR}/agent-launcher:/opt/srun-docker/bin/${name}:ro`,
        ),
        SWITCH,
      ],
    ],
    [
      "--launcher=each",
      { options: { remote: "agent", launcher: "each" }, agentProgram: { kind: "executable" as const, path: BIN } },
      [HOME, ...ACCOUNTS, ...MASK, ...AGENT_BIN, SWITCH],
    ],
    [
      "--launcher=srun: PMIx's directory",
      { options: { remote: "agent", launcher: "srun" }, env: { PMIX_SERVER_TMPDIR: "/var/spool/slurmd/pmix.42.0/" } },
      [HOME, ...ACCOUNTS, ...MASK, "-v /var/spool/slurmd/pmix.42.0:/var/spool/slurmd/pmix.42.0", SWITCH],
    ],
    [
      "rootless Podman: its own tmpfs options (no copy of what the mask covers)",
      { options: { remote: "agent", runtime: "podman" }, agentProgram: { kind: "executable" as const, path: BIN } },
      [
        HOME,
        ...ACCOUNTS,
        "--tmpfs /home/alice/.srun-docker:ro,notmpcopyup,U",
        `-v ${JOB_DIR}:${JOB_DIR}`,
        ...AGENT_BIN,
        SWITCH,
      ],
    ],
  ])("%s", (_name, c, expected) => {
    expect(mountArgs(plan(c))).toEqual(expected);
  });
});

describe("Pyxis's options (the container's shape)", () => {
  const shaped = (shape: Partial<ContainerShape>, imageEntrypoint?: readonly string[]) =>
    planNode({
      ...planInput({ options: { shape: { ...DEFAULT_SHAPE, ...shape } } }),
      imageEntrypoint,
    });

  test("the workdir, root and the entrypoint reach the script's exec; the switch stays the container's first process", () => {
    const p = shaped({ workdir: "/in", remapRoot: true, entrypoint: true }, ["/entry.sh"]);
    expect(p.exec.user).toEqual({ uid: 0, gid: 0 });
    expect(p.exec.workdir).toBe("/in");
    expect(p.exec.command.slice(-2)).toEqual(["/entry.sh", "/home/alice/job.sh"]);
    expect(p.runArgs).toContain("--entrypoint=/bin/sh");
    expect(p.runArgs.slice(p.runArgs.indexOf("-w"), p.runArgs.indexOf("-w") + 2)).toEqual(["-w", "/in"]);
  });

  test("by default: the caller, the current directory, no entrypoint", () => {
    const p = shaped({}, ["/entry.sh"]);
    expect(p.exec.user).toEqual({ uid: 1001, gid: 1001 });
    expect(p.exec.workdir).toBe("/home/alice");
    expect(p.exec.command).not.toContain("/entry.sh");
  });

  test("a relative mount source is the caller's directory's", () => {
    const p = shaped({ mounts: [{ kind: "bind", source: "./data", target: "/data", flags: ["ro"] }] });
    expect(p.runArgs).toContain("/home/alice/data:/data:ro");
  });
});

describe("--container-name: the job's container, keyed with name-NAME in the step's place", () => {
  const named = plan({
    options: { remote: "agent", launcher: "srun" },
    env: { PMIX_SERVER_TMPDIR: "/var/spool/slurmd/pmix.42.0/" },
    named: { name: "dev", image: "img:1" },
  });
  const labels = (p: NodePlan) => p.runArgs.flatMap((a, i) => (p.runArgs[i - 1] === "--label" ? [a] : []));

  test("its name, job dir and switch dir", () => {
    expect(named.containerName).toBe("srun-docker-alice-42.name-dev-node1");
    expect(named.jobDir).toBe("/home/alice/.srun-docker/jobs/42.name-dev/node1");
    expect(named.switchDir).toBe("/home/alice/.srun-docker/jobs/42.name-dev/node1/switch");
  });

  test("its labels: the step's place, the name, the image as given, the GPUs", () => {
    expect(labels(named)).toEqual(
      expect.arrayContaining([
        "srun-docker.step=name-dev",
        "srun-docker.name=dev",
        "srun-docker.image=img:1",
        "srun-docker.devices=",
      ]),
    );
    expect(labels(plan({ options: { remote: "agent", launcher: "srun" } })).join(" ")).not.toMatch(/\.name=/);
  });

  test("the directory above the step's PMIx store, where later steps' appear", () => {
    expect(named.runArgs.join(" ")).toContain("-v /var/spool/slurmd:/var/spool/slurmd");
    expect(named.runArgs.join(" ")).not.toContain("pmix.42.0");
  });
});
