import { describe, expect, test } from "vitest";
import { FrameType, MAX_CONTROL_BYTES, MAX_DATA_BYTES } from "../channel/index.js";
import { planHostCommand, planSlurmRequest, readsStdin, relayedEnv, withOverlap } from "./slurm-relay-plan.js";
import {
  encodeSlurmRequest,
  isSlurmCommand,
  MAX_COMMAND_BYTES,
  parseSlurmRequest,
  relayClientFrameLimit,
  relayServerFrameLimit,
  SLURM_COMMAND_FRAME,
  type SlurmRequest,
} from "./slurm-relay-protocol.js";

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const request = (over: Partial<SlurmRequest> = {}): SlurmRequest => ({
  program: "scontrol",
  args: ["show", "hostnames"],
  cwd: "/home/erin/w",
  env: {},
  ...over,
});

describe("the allow list", () => {
  test.each([
    ["scontrol", true],
    ["squeue", true],
    ["sacct", true],
    ["sbatch", true],
    ["scancel", true],
    ["srun", true],
    ["salloc", false],
    ["sh", false],
    ["/usr/bin/scontrol", false],
    ["../../bin/sh", false],
    ["scontrol;id", false],
    ["", false],
  ])("%j → %s", (name, allowed) => {
    expect(isSlurmCommand(name)).toBe(allowed);
  });
});

describe("the command message", () => {
  test("round-trips", () => {
    const r = request({ args: ["a b", ";", "$(id)"], env: { SBATCH_ACCOUNT: "x" } });
    expect(parseSlurmRequest(encodeSlurmRequest(r))).toEqual(r);
  });

  test.each<[string, unknown]>([
    ["not JSON", "{"],
    ["a path as the program", { ...request(), program: "/bin/sh" }],
    ["../../bin/sh", { ...request(), program: "../../bin/sh" }],
    ["a program not on the list", { ...request(), program: "bash" }],
    ["a string for argv", { ...request(), args: "show hostnames; id" }],
    ["an argument with a NUL", { ...request(), args: ["a\u0000b"] }],
    ["a relative cwd", { ...request(), cwd: "w" }],
    ["a variable name with '='", { ...request(), env: { "A=B": "c" } }],
    ["a field of its own", { ...request(), shell: true }],
  ])("%s is dropped", (_name, value) => {
    const payload = typeof value === "string" ? Buffer.from(value) : json(value);
    expect(parseSlurmRequest(payload)).toBeUndefined();
  });

  test.each([
    ["command", SLURM_COMMAND_FRAME, MAX_COMMAND_BYTES],
    ["command", FrameType.stdin, undefined],
    ["command", FrameType.exec, undefined],
    ["running", FrameType.stdin, MAX_DATA_BYTES],
    ["running", FrameType.stdinEof, 0],
    ["running", FrameType.signal, MAX_CONTROL_BYTES],
    ["running", SLURM_COMMAND_FRAME, undefined],
  ] as const)("the relay, %s: type %i → %s", (phase, type, limit) => {
    expect(relayClientFrameLimit(phase, type)).toBe(limit);
  });

  test.each([
    [FrameType.stdout, MAX_DATA_BYTES],
    [FrameType.stderr, MAX_DATA_BYTES],
    [FrameType.exit, MAX_CONTROL_BYTES],
    [FrameType.stdinWindow, MAX_CONTROL_BYTES],
    [SLURM_COMMAND_FRAME, undefined],
    [FrameType.stdin, undefined],
  ] as const)("the client: type %i → %s", (type, limit) => {
    expect(relayServerFrameLimit(type)).toBe(limit);
  });
});

describe("the container's side", () => {
  test("sends the Slurm clients' own variables, nothing that chooses code", () => {
    expect(
      relayedEnv({
        SLURM_JOB_ID: "7",
        SBATCH_ACCOUNT: "a",
        SQUEUE_FORMAT: "%i",
        SRUN_CPUS_PER_TASK: "2",
        SLURM_CONF: "/home/u/evil.conf",
        LD_PRELOAD: "/home/u/evil.so",
        PATH: "/home/u/bin",
        HOME: "/home/u",
        slurm_lower: "x",
        UNSET: undefined,
      }),
    ).toEqual({ SLURM_JOB_ID: "7", SBATCH_ACCOUNT: "a", SQUEUE_FORMAT: "%i", SRUN_CPUS_PER_TASK: "2" });
  });

  test("an argv of 1 MB is refused before it leaves the container", () => {
    const plan = planSlurmRequest("scontrol", ["x".repeat(1024 * 1024)], "/", {});
    expect(plan).toEqual({
      kind: "refuse",
      message: `the command line is too long for the Slurm relay (1048629 bytes; at most ${MAX_COMMAND_BYTES})`,
    });
  });

  test.each([
    ["srun", ["hostname"], true],
    ["sbatch", ["job.sh"], true],
    ["scontrol", [], true],
    ["scontrol", ["requeue", "7"], false],
    ["squeue", [], false],
    ["sacct", [], false],
    ["scancel", ["7"], false],
  ] as const)("%s %j reads stdin: %s", (program, args, reads) => {
    expect(readsStdin(program, args)).toBe(reads);
  });
});

describe("the host's side", () => {
  test("the host's environment, the container's Slurm variables over it, never its PATH or SLURM_CONF", () => {
    const host = { PATH: "/usr/bin", SLURM_JOB_ID: "7", SLURM_CONF: "/etc/slurm/slurm.conf", HOME: "/home/u" };
    const planned = planHostCommand(
      request({ env: { SBATCH_ACCOUNT: "a", PATH: "/tmp", SLURM_CONF: "/tmp/c", LD_PRELOAD: "/tmp/x.so" } }),
      host,
    );
    expect(planned).toEqual({
      program: "scontrol",
      args: ["show", "hostnames"],
      env: { ...host, SBATCH_ACCOUNT: "a" },
    });
  });

  test.each<[string[], boolean, string[]]>([
    [["hostname"], true, ["--overlap", "--mem=0", "hostname"]],
    [
      ["-N2", "--ntasks-per-node=1", "hostname"],
      true,
      ["--overlap", "--mem=0", "-N2", "--ntasks-per-node=1", "hostname"],
    ],
    [["--overlap", "hostname"], true, ["--mem=0", "--overlap", "hostname"]],
    [["--mem=2G", "hostname"], true, ["--overlap", "--mem=2G", "hostname"]],
    [["--mem-per-cpu", "100", "hostname"], true, ["--overlap", "--mem-per-cpu", "100", "hostname"]],
    [["--mem-per-gpu=1G", "hostname"], true, ["--overlap", "--mem-per-gpu=1G", "hostname"]],
    [["--memory-thing", "hostname"], true, ["--overlap", "--mem=0", "--memory-thing", "hostname"]],
    [["--overlap", "--mem=0", "hostname"], true, ["--overlap", "--mem=0", "hostname"]],
    [["--exclusive", "hostname"], true, ["--exclusive", "hostname"]],
    [["--exclusive=user", "hostname"], true, ["--exclusive=user", "hostname"]],
    [["hostname"], false, ["hostname"]],
  ])("srun %j, in a step: %s → %j", (args, inStep, expected) => {
    expect(withOverlap(args, inStep)).toEqual(expected);
  });

  test("only srun gets --overlap", () => {
    const host = { SLURM_STEP_ID: "0" };
    expect(planHostCommand(request({ program: "srun", args: ["true"] }), host).args).toEqual([
      "--overlap",
      "--mem=0",
      "true",
    ]);
    expect(planHostCommand(request({ program: "sbatch", args: ["j.sh"] }), host).args).toEqual(["j.sh"]);
  });
});
