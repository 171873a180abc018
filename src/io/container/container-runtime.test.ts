import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { RunCommandResult } from "../process/index.js";
import { ContainerRuntime } from "./container-runtime.js";

let cache: string;
beforeEach(async () => {
  cache = path.join(await mkdtemp(path.join(tmpdir(), "srun-docker-runtime-")), "cache");
});
afterEach(async () => {
  await rm(path.dirname(cache), { recursive: true, force: true });
});

const ok = (stdout = ""): RunCommandResult => ({
  exitCode: 0,
  signal: null,
  stdout,
  stderr: "",
  timedOut: false,
  aborted: false,
});

test("an engine whose cp succeeds without writing the file gives empty image files, not a crash", async () => {
  const calls: string[] = [];
  const run = async (_bin: string, args: readonly string[]) => {
    calls.push(args[0] ?? "");
    return ok(args[0] === "create" ? "cid\n" : "");
  };
  const runtime = new ContainerRuntime(
    "docker",
    "node1",
    run,
    () => {},
    () => 1000,
    undefined,
  );
  expect(await runtime.readImageFiles("img", "sha256:1", cache)).toEqual({ passwd: "", group: "" });
  expect(calls).toEqual(["create", "cp", "cp", "rm"]);
  // The scratch dir is gone; the (empty) answer is cached for the image id.
  expect(await readdir(cache)).toEqual(["sha256_1.json"]);
});
