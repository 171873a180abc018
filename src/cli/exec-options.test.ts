import { expect, test } from "vitest";
import { parseCommandLine } from "./command-line.js";
import { parseExecArgs } from "./exec-options.js";

test("in a job's step: its job, the command after --, a shell when none", () => {
  expect(parseExecArgs(["--", "py-spy", "dump", "--pid", "7"], { SLURM_JOB_ID: "42" })).toEqual({
    jobId: "42",
    stepId: undefined,
    command: ["py-spy", "dump", "--pid", "7"],
    runtime: "docker",
    debug: false,
  });
  expect(parseExecArgs([], { SLURM_JOB_ID: "42" }).command).toEqual([]);
});

test("--jobid and --step choose, over the step's own job", () => {
  expect(parseExecArgs(["--jobid=7", "--step", "2"], { SLURM_JOB_ID: "42" })).toMatchObject({
    jobId: "7",
    stepId: "2",
  });
});

test.each([
  [[], {}, "`srun-docker exec` needs a job"],
  [["--jobid=abc"], {}, "`--jobid` is `abc`, not a job id"],
  [["--pid", "7"], { SLURM_JOB_ID: "42" }, "unknown option `--pid`"],
])("%j with %j is a usage error", (argv, env, message) => {
  expect(() => parseExecArgs(argv, env)).toThrow(
    expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }),
  );
});

test("the subcommand reaches it; its --help is its own", () => {
  expect(parseCommandLine(["exec", "--", "hostname"], { SLURM_JOB_ID: "5" })).toMatchObject({
    kind: "exec",
    options: { jobId: "5", command: ["hostname"] },
  });
  expect(parseCommandLine(["exec", "--help"], {})).toEqual({ kind: "help", topic: "exec" });
});
