import { expect, test } from "vitest";
import { jobDirPath, jobStepKey, restartOfJobStepKey } from "./job-paths.js";

test("job paths refuse segments that would leave the jobs dir", () => {
  expect(() => jobDirPath("/j", "..", "node1")).toThrow(/unsafe job key/);
  expect(() => jobDirPath("/j", "1.0", "a/b")).toThrow(/unsafe node/);
  expect(() => jobDirPath("/j", "1.0", "")).toThrow(/unsafe node/);
});

test.each([
  [{ jobId: "42", stepId: "0" }, "42.0", 0],
  [{ jobId: "42", stepId: "0", restartCount: 0 }, "42.0", 0],
  [{ jobId: "42", stepId: "0", restartCount: 1 }, "42.0.r1", 1],
  [{ jobId: "42", stepId: "batch", restartCount: 12 }, "42.batch.r12", 12],
])("one run of a step: %o is %s, run %i", (run, key, restart) => {
  expect(jobStepKey(run)).toBe(key);
  expect(restartOfJobStepKey(key)).toBe(restart);
  expect(jobDirPath("/j", key, "node1")).toBe(`/j/${key}/node1`);
});
