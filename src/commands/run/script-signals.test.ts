// Slurm's checkpoint signals while the job script runs: passed on to the script's process group
// once it recorded its pid, never before it ran nor after it ended, and never to a pid an
// earlier run of the step left behind.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, test, vi } from "vitest";
import { deferred } from "../../core/common/index.js";
import type { ExecPlan } from "../../core/engine/index.js";
import type { ExitInfo } from "../../io/process/index.js";
import { createLogger } from "../../io/process/index.js";
import { startScriptPassingSignals } from "./script-signals.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const exec: ExecPlan = { name: "c1", user: { uid: 1001, gid: 1001 }, workdir: "/w", env: {}, command: ["job.sh"] };

function setUp() {
  const switchDir = mkdtempSync(path.join(tmpdir(), "script-signals-"));
  dirs.push(switchDir);
  const exit = deferred<ExitInfo>();
  const started: ExecPlan[] = [];
  const signalled: [string, number, string][] = [];
  const lines: string[] = [];
  const runtime = {
    exec(plan: ExecPlan) {
      started.push(plan);
      return { exit: exit.promise };
    },
    async signalProcess(name: string, _user: unknown, pid: number, signal: string) {
      signalled.push([name, pid, signal]);
    },
  };
  const log = createLogger({ prefix: "node1 master", debug: true, write: (text) => lines.push(text.trim()) });
  const script = startScriptPassingSignals(runtime, { exec, switchDir }, log);
  const recordPid = (pid: number) => writeFileSync(path.join(switchDir, "script.pid"), `${pid}\n`);
  return { switchDir, exit, started, signalled, lines, script, recordPid };
}

// What the one process-wide listener of src/first-statement.js does when the signal comes.
const arrive = (signal: "SIGUSR1" | "SIGUSR2") => process.emit(signal, signal);
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

test("a signal before the script recorded its pid is not passed on, and says so", async () => {
  const { signalled, lines, exit, script } = setUp();
  await settle();
  arrive("SIGUSR1");
  await vi.waitFor(() =>
    expect(lines).toContain("[node1 master] SIGUSR1 received while no job script runs here: not passed on"),
  );
  expect(signalled).toEqual([]);
  exit.resolve({ code: 0, signal: null });
  await script.exit;
});

test("while the script runs, each signal goes to its process group", async () => {
  const { signalled, recordPid, exit, script, started } = setUp();
  await settle();
  expect(started).toEqual([exec]);
  recordPid(37);
  arrive("SIGUSR1");
  arrive("SIGUSR2");
  await vi.waitFor(() =>
    expect(signalled).toEqual([
      ["c1", -37, "SIGUSR1"],
      ["c1", -37, "SIGUSR2"],
    ]),
  );
  exit.resolve({ code: 0, signal: null });
  await script.exit;
});

test("after the script ended, nothing is passed on", async () => {
  const { signalled, recordPid, exit, script } = setUp();
  await settle();
  recordPid(37);
  exit.resolve({ code: 3, signal: null });
  expect(await script.exit).toEqual({ code: 3, signal: null });
  await settle();
  arrive("SIGUSR1");
  await settle();
  expect(signalled).toEqual([]);
});

test("a pid an earlier run of the step left is gone before the script starts", async () => {
  const switchDir = mkdtempSync(path.join(tmpdir(), "script-signals-"));
  dirs.push(switchDir);
  writeFileSync(path.join(switchDir, "script.pid"), "99\n");
  const signalled: number[] = [];
  const exit = deferred<ExitInfo>();
  const runtime = {
    exec: () => ({ exit: exit.promise }),
    signalProcess: async (_name: string, _user: unknown, pid: number) => void signalled.push(pid),
  };
  const script = startScriptPassingSignals(
    runtime,
    { exec, switchDir },
    createLogger({ prefix: "n", write: () => {} }),
  );
  await settle();
  arrive("SIGUSR1");
  await settle();
  expect(signalled).toEqual([]);
  exit.resolve({ code: 0, signal: null });
  await script.exit;
});
