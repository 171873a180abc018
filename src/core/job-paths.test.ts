import { expect, test } from "vitest";
import { jobDirPath } from "./job-paths.js";

test("job paths refuse segments that would leave the jobs dir", () => {
  expect(() => jobDirPath("/j", "..", "node1")).toThrow(/unsafe job key/);
  expect(() => jobDirPath("/j", "1.0", "a/b")).toThrow(/unsafe node/);
  expect(() => jobDirPath("/j", "1.0", "")).toThrow(/unsafe node/);
});
