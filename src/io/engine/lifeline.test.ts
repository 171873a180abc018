// The dead man's switch with real parts: a real FIFO held by a real Lifeline, and the very sh
// script the container runs (its mount path pointed at a temp dir), run by /bin/sh.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { buildJobHolderScript, buildSwitchedCommand, SWITCH_MOUNT } from "../../core/engine/index.js";
import { holdLifeline } from "./lifeline.js";

let dir: string;
const children: ChildProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "lifeline-"));
});

afterEach(() => {
  // Each switch runs in its own process group (the container's pid namespace stands in for
  // it here): end what is left of the groups this test started, by their leader's pid.
  for (const child of children.splice(0)) {
    if (child.pid === undefined || child.pid <= 1) continue;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is gone already.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** The switch's sh as the container would run it, with `main` under it. */
function startSwitch(main: string[]): {
  child: ChildProcess;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const { entrypoint, command } = buildSwitchedCommand(main);
  const [flag, script, ...rest] = command;
  const child = spawn(entrypoint, [flag ?? "", (script ?? "").replaceAll(SWITCH_MOUNT, dir), ...rest], {
    stdio: "ignore",
    detached: true,
  });
  children.push(child);
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, ended };
}

const settledWithin = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

test("the switch keeps running while the lifeline is held, and ends at once when it is cut", async () => {
  const lifeline = await holdLifeline(dir);
  const { ended } = startSwitch([]);
  expect(await settledWithin(ended, 300)).toBe(false);
  const cutAt = Date.now();
  lifeline.cut();
  expect(await ended).toEqual({ code: null, signal: "SIGKILL" });
  expect(Date.now() - cutAt).toBeLessThan(1000);
});

test("a holder that died before the container started: the switch ends at once", async () => {
  const lifeline = await holdLifeline(dir);
  lifeline.cut();
  const { ended } = startSwitch(["sleep", "30"]);
  expect(await settledWithin(ended, 2000)).toBe(true);
});

test("a main process that exits leaves the switch up and its exit code readable", async () => {
  const lifeline = await holdLifeline(dir);
  const { ended } = startSwitch(["sh", "-c", "exit 7"]);
  const watching = new AbortController();
  expect(await lifeline.mainExit(watching.signal, 10)).toBe(7);
  expect(await settledWithin(ended, 200)).toBe(false);
  lifeline.cut();
  lifeline.cut(); // idempotent
  expect((await ended).signal).toBe("SIGKILL");
});

test("mainExit stays pending while main runs and returns undefined once aborted", async () => {
  const lifeline = await holdLifeline(dir);
  startSwitch(["sleep", "30"]);
  const watching = new AbortController();
  const exit = lifeline.mainExit(watching.signal, 10);
  expect(await settledWithin(exit, 200)).toBe(false);
  watching.abort();
  expect(await exit).toBeUndefined();
  lifeline.cut();
});

test("handOff: an orphaned holder keeps the container's switch up until Slurm stops listing the job", async () => {
  // A stand-in squeue: lists job 42 on its first two calls, then nothing (the job ended).
  const bin = path.join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    path.join(bin, "squeue"),
    `#!/bin/sh\nn=$(cat "${dir}/calls" 2>/dev/null || echo 0); echo $((n + 1)) >"${dir}/calls"\n[ "$n" -lt 2 ] && echo 42\nexit 0\n`,
    { mode: 0o755 },
  );
  const lifeline = await holdLifeline(dir);
  const { ended } = startSwitch([]);
  const oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath ?? ""}`;
  try {
    lifeline.handOff(buildJobHolderScript("docker"), ["42"]);
  } finally {
    process.env.PATH = oldPath;
  }
  // Our end is closed now; the holder's keeps the switch up while the job is listed.
  expect(await settledWithin(ended, 1000)).toBe(false);
  expect((await ended).signal).toBe("SIGKILL");
  expect(Number(readFileSync(path.join(dir, "calls"), "utf8"))).toBe(3);
});
