import { expect, test } from "vitest";
import type { RunCommandResult } from "../process/index.js";
import { activeJobIds } from "./slurm-queue.js";

function squeue(result: Partial<RunCommandResult> | Error) {
  const calls: string[][] = [];
  const run = async (file: string, args: readonly string[]): Promise<RunCommandResult> => {
    calls.push([file, ...args]);
    if (result instanceof Error) throw result;
    return { exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, aborted: false, ...result };
  };
  return { run, calls };
}

test("asks squeue once about every id, in the states that still hold a node", async () => {
  const { run, calls } = squeue({ stdout: "11\n12\n" });
  expect(await activeJobIds(["10", "11", "12"], run)).toEqual(new Set(["11", "12"]));
  expect(calls).toEqual([["squeue", "-h", "-o", "%A", "-t", "PD,R,CG,S,CF,RS", "-j", "10,11,12"]]);
});

test.each<[string, Partial<RunCommandResult> | Error, Set<string> | undefined]>([
  [
    "no id known any more: every job ended",
    { exitCode: 1, stderr: "slurm_load_jobs error: Invalid job id specified" },
    new Set(),
  ],
  ["the controller does not answer: unknown", { exitCode: 1, stderr: "Unable to contact slurm controller" }, undefined],
  ["no squeue on this node: unknown", new Error("cannot run `squeue`: not found"), undefined],
])("%s", async (_name, result, expected) => {
  expect(await activeJobIds(["10"], squeue(result).run)).toEqual(expected);
});

test("nothing to ask: squeue is not run", async () => {
  const { run, calls } = squeue({});
  expect(await activeJobIds([], run)).toEqual(new Set());
  expect(calls).toEqual([]);
});
