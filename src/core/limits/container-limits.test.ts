import { describe, expect, test } from "vitest";
import {
  type ContainerLimits,
  describeLimits,
  formatBytes,
  type LimitFacts,
  limitArgs,
  logLimitArgs,
  optionNames,
  planLimits,
  unenforceableWarning,
} from "./container-limits.js";

const node = (env: NodeJS.ProcessEnv, more: Partial<LimitFacts> = {}): LimitFacts => ({
  env,
  boundCpus: undefined,
  onlineCpus: 8,
  oneTaskOfMany: false,
  unenforceable: false,
  ...more,
});
const noPids = { kind: "none" } as const;

describe("planLimits under --limits=slurm", () => {
  test("-c 1 --mem=256M, bound by task/affinity: that CPU and 256 MiB", () => {
    const limits = planLimits(
      "slurm",
      noPids,
      node({ SLURM_CPUS_ON_NODE: "1", SLURM_MEM_PER_NODE: "256" }, { boundCpus: "3" }),
    );
    expect(limits).toEqual({
      cpuset: { value: "3", from: "the step's CPU binding" },
      memoryBytes: { value: 256 * 1024 * 1024, from: "--mem" },
    });
  });

  test("not bound: a quota worth the job's CPUs on the node", () => {
    expect(planLimits("slurm", noPids, node({ SLURM_CPUS_ON_NODE: "2" })).cpus).toEqual({
      value: 2,
      from: "SLURM_CPUS_ON_NODE=2",
    });
  });

  test("the whole node: no CPU limit", () => {
    expect(planLimits("slurm", noPids, node({ SLURM_CPUS_ON_NODE: "8" }))).toEqual({});
  });

  test("one task of many (srun launcher): its own binding is not the node's, so a quota", () => {
    const limits = planLimits(
      "slurm",
      noPids,
      node({ SLURM_CPUS_ON_NODE: "4" }, { boundCpus: "0", oneTaskOfMany: true }),
    );
    expect(limits.cpuset).toBeUndefined();
    expect(limits.cpus?.value).toBe(4);
  });

  test.each([
    [{ SLURM_MEM_PER_CPU: "512", SLURM_CPUS_ON_NODE: "2" }, 1024, "--mem-per-cpu=512M × 2 CPUs"],
    [{ SLURM_MEM_PER_GPU: "4096", SLURM_GPUS_ON_NODE: "2" }, 8192, "--mem-per-gpu=4096M × 2 GPUs"],
    [{ SLURM_MEM_PER_NODE: "300", SLURM_MEM_PER_CPU: "512", SLURM_CPUS_ON_NODE: "2" }, 300, "--mem"],
  ])("memory from %j: %i MiB", (env, mib, from) => {
    expect(planLimits("slurm", noPids, node(env)).memoryBytes).toEqual({ value: mib * 1024 * 1024, from });
  });

  test.each([
    [{}, "nothing at all"],
    [{ SLURM_MEM_PER_NODE: "0" }, "--mem=0 (the whole node's memory)"],
    [{ SLURM_MEM_PER_CPU: "512" }, "per CPU without a CPU count"],
    [{ SLURM_MEM_PER_NODE: "lots" }, "a value that is no number"],
  ])("no limit when Slurm gives none: %j (%s)", (env, _why) => {
    expect(planLimits("slurm", noPids, node(env))).toEqual({});
  });
});

test("--limits=none sets nothing from Slurm", () => {
  expect(
    planLimits("none", noPids, node({ SLURM_CPUS_ON_NODE: "1", SLURM_MEM_PER_NODE: "256" }, { boundCpus: "0" })),
  ).toEqual({});
});

describe("pids", () => {
  test.each([
    ["slurm", { kind: "default" }, { SLURM_CPUS_ON_NODE: "2" }, 4096],
    ["slurm", { kind: "default" }, { SLURM_CPUS_ON_NODE: "16" }, 16384],
    ["slurm", { kind: "default" }, {}, 8192],
    ["none", { kind: "default" }, {}, undefined],
    ["none", { kind: "max", value: 100 }, {}, 100],
    ["slurm", { kind: "none" }, {}, undefined],
  ] as const)("--limits=%s, %j, %j: %s", (mode, pids, env, value) => {
    expect(planLimits(mode, pids, node(env)).pids?.value).toBe(value);
  });
});

describe("limitArgs", () => {
  const all: ContainerLimits = {
    cpuset: { value: "0-1", from: "x" },
    cpus: { value: 2, from: "x" },
    memoryBytes: { value: 1024, from: "x" },
    pids: { value: 5000, from: "x" },
  };

  test("every limit as a docker run option, swap equal to memory", () => {
    expect(limitArgs(all, [])).toEqual([
      "--cpuset-cpus=0-1",
      "--cpus=2",
      "--memory=1024b",
      "--memory-swap=1024b",
      "--pids-limit=5000",
    ]);
  });

  test.each([
    [
      ["-m", "4g"],
      ["--cpuset-cpus=0-1", "--cpus=2", "--pids-limit=5000"],
    ],
    [["-m4g"], ["--cpuset-cpus=0-1", "--cpus=2", "--pids-limit=5000"]],
    [["--memory-swap=-1"], ["--cpuset-cpus=0-1", "--cpus=2", "--pids-limit=5000"]],
    [
      ["--cpu-quota", "50000"],
      ["--cpuset-cpus=0-1", "--memory=1024b", "--memory-swap=1024b", "--pids-limit=5000"],
    ],
    [
      ["--cpuset-cpus=5", "--pids-limit=-1"],
      ["--cpus=2", "--memory=1024b", "--memory-swap=1024b"],
    ],
  ])("the user's --dockopts %j win over ours", (dockopts, expected) => {
    expect(limitArgs(all, dockopts)).toEqual(expected);
  });
});

describe("logLimitArgs: the container's own log is capped", () => {
  test.each<[string, "docker" | "podman", string[], string[]]>([
    [
      "docker: json-file named, since only it and local take the size options",
      "docker",
      ["--ipc=host"],
      ["--log-driver=json-file", "--log-opt=max-size=4m", "--log-opt=max-file=2"],
    ],
    ["podman: its default driver kept (k8s-file truncates at the size)", "podman", [], ["--log-opt=max-size=4m"]],
    ["the user's --log-driver wins: none of ours", "docker", ["--log-driver=journald"], []],
    ["the user's --log-driver, spaced, wins", "docker", ["--log-driver", "local"], []],
    ["the user's --log-opt wins", "docker", ["--log-opt", "max-size=100m"], []],
    ["the user's --log-opt wins with podman", "podman", ["--log-opt=max-size=1g"], []],
  ])("%s", (_name, runtime, dockopts, expected) => {
    expect(logLimitArgs(runtime, dockopts)).toEqual(expected);
  });
});

test("optionNames reads long, long=value and short options, not values", () => {
  expect([...optionNames(["--memory=4g", "-m4g", "--ipc", "host", "-e", "X=1"])]).toEqual([
    "--memory",
    "-m",
    "--ipc",
    "-e",
  ]);
});

test.each([
  [256 * 1024 * 1024, "256 MiB"],
  [4 * 1024 ** 3, "4 GiB"],
  [1536 * 1024 * 1024, "1.5 GiB"],
  [1000, "1000 B"],
])("formatBytes(%i) = %s", (bytes, text) => {
  expect(formatBytes(bytes)).toBe(text);
});

test("describeLimits names each limit and its source", () => {
  expect(
    describeLimits({ cpuset: { value: "3", from: "a" }, memoryBytes: { value: 256 * 1024 * 1024, from: "--mem" } }),
  ).toEqual(["cpuset 3 (from a)", "memory 256 MiB, no swap beyond it (from --mem)"]);
});

test("unenforceable (rootless Podman on cgroup v1): no limit at all, and a warning unless --limits=none", () => {
  const facts = node({ SLURM_MEM_PER_NODE: "256" }, { unenforceable: true });
  expect(planLimits("slurm", { kind: "max", value: 100 }, facts)).toEqual({});
  expect(unenforceableWarning("slurm", facts)).toMatch(/cgroup v1/);
  expect(unenforceableWarning("none", facts)).toBeUndefined();
  expect(unenforceableWarning("slurm", node({}))).toBeUndefined();
});
