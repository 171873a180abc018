// The pause-process release against a scripted podman: when it ends the process, when it
// must not, and that a released namespace is not asked about again (that would restart it).
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { ContainerRuntime } from "../container/index.js";
import type { RunCommandResult } from "../process/index.js";
import { endPausedNamespace, runtimeDirOfConmon } from "./podman-pause.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "pause-"));
  mkdirSync(path.join(dir, "libpod/tmp"), { recursive: true });
  // This test process stands in for the pause process: its own pid, its own cmdline is not
  // catatonit's, so the pid file names a process that must be left alone...
  writeFileSync(path.join(dir, "libpod/tmp/pause.pid"), String(process.pid));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const result = (stdout: string, exitCode: number | null = 0): RunCommandResult => ({
  exitCode,
  signal: exitCode === null ? "SIGTERM" : null,
  stdout,
  stderr: "",
  timedOut: false,
  aborted: false,
});

function podman(containers: string, calls: string[], killedOnce = false) {
  let killed = killedOnce;
  return async (args: readonly string[]) => {
    calls.push(args.join(" "));
    // The step's SIGTERM kills the first `ps`: it is asked again.
    if (args[0] === "ps" && killed) {
      killed = false;
      return result("", null);
    }
    if (args[0] === "ps") return result(containers);
    return result(`${dir}/podman/podman.sock\n`);
  };
}

test("a container left: the namespace stays", async () => {
  const calls: string[] = [];
  expect(await endPausedNamespace(podman("abc123\n", calls), () => {})).toBe(false);
  expect(calls).toEqual(["ps -aq"]);
});

test("no container: reads the pid file; a pid that is no pause process is never signalled", async () => {
  const calls: string[] = [];
  const kills: number[] = [];
  expect(await endPausedNamespace(podman("", calls, true), (pid) => kills.push(pid))).toBe(true);
  expect(calls).toEqual(["ps -aq", "ps -aq", "info --format {{.Host.RemoteSocket.Path}}"]);
  expect(kills).toEqual([]);
});

test("ContainerRuntime releases once, and again only after another podman command", async () => {
  const calls: string[] = [];
  const script = podman("", calls);
  const runtime = new ContainerRuntime(
    "podman",
    "node1",
    (_file, args) => script(args),
    undefined,
    () => 1005,
  );
  await runtime.releaseUserNamespace(); // nothing ran yet: nothing to release
  expect(calls).toEqual([]);
  await runtime.lastLogLine("c1");
  await Promise.all([runtime.releaseUserNamespace(), runtime.releaseUserNamespace()]);
  await runtime.releaseUserNamespace();
  expect(calls.filter((c) => c.startsWith("ps"))).toEqual(["ps -aq"]);
});

test("a known runtime dir spares `podman info`, and its pid file is the one read", async () => {
  const calls: string[] = [];
  const kills: number[] = [];
  expect(await endPausedNamespace(podman("", calls), (pid) => kills.push(pid), dir)).toBe(true);
  expect(calls).toEqual(["ps -aq"]);
  // The pid file there names this test process, which is no pause process: left alone.
  expect(kills).toEqual([]);
});

test("conmon's environment names podman's runtime dir", async () => {
  // A real process whose environment says it, as conmon's does.
  const child = spawn("sleep", ["30"], { env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: "/tmp/podman-run-1005" } });
  try {
    await once(child, "spawn");
    expect(await runtimeDirOfConmon(child.pid ?? 0)).toBe("/tmp/podman-run-1005");
  } finally {
    child.kill();
  }
  expect(await runtimeDirOfConmon(2 ** 22 + 1)).toBeUndefined(); // no such process
});

test("ContainerRuntime, once its watch met a conmon, releases without `podman info`", async () => {
  const conmon = spawn("sleep", ["30"], { env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: dir } });
  const calls: string[] = [];
  const script = podman("", calls);
  const answer = async (args: readonly string[]) => {
    // The watch's inspects: the pids (the main one unseen here), then "exited 0".
    if (args[3] === "{{.State.Pid}} {{.State.ConmonPid}}") return result(`0 ${conmon.pid}\n`);
    if (args[0] === "container") return result("false 0\n");
    return script(args);
  };
  const runtime = new ContainerRuntime(
    "podman",
    "node1",
    (_file, args) => answer(args),
    undefined,
    () => 1005,
  );
  try {
    await once(conmon, "spawn");
    await runtime.containerStates().wait("c1", new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the watch does not await the environ read
  } finally {
    conmon.kill();
  }
  await runtime.releaseUserNamespace();
  expect(calls).toEqual(["ps -aq"]);
});
