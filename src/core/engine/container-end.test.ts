import { expect, test } from "vitest";
import {
  type ContainerEnd,
  containerEndedDuringJob,
  describeExitCode,
  exitCodeOfEnd,
  parseInspectState,
  parseStatusLine,
} from "./container-end.js";

test.each([
  [137, undefined, "137: killed; out of memory, or SIGKILL"],
  [137, "limit 512 MiB from Slurm (--mem)", "137: killed for memory; limit 512 MiB from Slurm (--mem)"],
  [143, undefined, "143: SIGTERM, as a stop sends"],
  [139, undefined, "139: SIGSEGV"],
  [130, undefined, "130: SIGINT"],
  [1, undefined, "1"],
  [0, undefined, "0"],
  [200, undefined, "200"],
] as const)("exit %i (memory: %s) reads %s", (code, memory, expected) => {
  expect(describeExitCode(code, memory)).toBe(expected);
});

test.each([
  [{ kind: "exited", code: 137 }, 137],
  [{ kind: "exited", code: 143 }, 143],
  [{ kind: "exited", code: 0 }, 1],
  [{ kind: "exited", code: -1 }, 1],
  [{ kind: "gone" }, 1],
  [{ kind: "engine-lost", why: "connect ECONNREFUSED" }, 1],
] as const)("a node whose container ended as %o exits %i, never 0", (end, code) => {
  expect(exitCodeOfEnd(end)).toBe(code);
});

test.each([
  [
    { kind: "exited", code: 137 },
    "node2: the container exited during the job (137: killed; out of memory, or SIGKILL)",
  ],
  [{ kind: "gone" }, "node2: the container ended during the job and is gone (killed, or removed)"],
  [
    { kind: "engine-lost", why: "connect ENOENT /var/run/docker.sock" },
    "node2: the container was lost during the job: docker stopped answering (connect ENOENT /var/run/docker.sock)",
  ],
] as [ContainerEnd, string][])("the one line for %o", (end, line) => {
  const error = containerEndedDuringJob("node2", "docker", end);
  expect(error.message).toBe(line);
  expect(error.message).not.toContain("\n");
  expect(error.hint).toMatch(/node2/);
  expect(error.exitCode).toBe(exitCodeOfEnd(end));
});

test("the CLI's status line", () => {
  expect(parseStatusLine("true 0\n")).toEqual({ kind: "running" });
  expect(parseStatusLine("false 137")).toEqual({ kind: "exited", code: 137 });
  expect(parseStatusLine("")).toBeUndefined();
  expect(parseStatusLine("Error: no such container")).toBeUndefined();
});

test("the Engine API's container JSON", () => {
  expect(parseInspectState('{"State":{"Running":true,"ExitCode":0}}')).toEqual({ kind: "running" });
  expect(parseInspectState('{"State":{"Running":false,"ExitCode":137,"OOMKilled":false}}')).toEqual({
    kind: "exited",
    code: 137,
  });
  expect(parseInspectState('{"State":{}}')).toBeUndefined();
  expect(parseInspectState("not json")).toBeUndefined();
});
