import { expect, test } from "vitest";
import { outOfMemoryError } from "./out-of-memory.js";

test.each([
  [
    { memoryBytes: { value: 4 * 1024 ** 3, from: "--mem" } },
    [],
    "node2: the job ran out of memory (limit 4 GiB from --mem)",
  ],
  [
    { memoryBytes: { value: 4 * 1024 ** 3, from: "--mem" } },
    ["-m", "1g"],
    "node2: the job ran out of memory (limit from your --dockopts)",
  ],
  [{}, [], "node2: the job ran out of memory (no container limit: the node itself ran out)"],
])("limits %j, dockopts %j: %s", (limits, dockopts, message) => {
  const error = outOfMemoryError("node2", limits, dockopts);
  expect(error.message).toBe(message);
  expect(error.exitCode).toBe(137);
  expect(error.hint).toMatch(/--mem/);
});
