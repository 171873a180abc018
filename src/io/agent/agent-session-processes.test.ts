import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { SESSION_MARKER_VARIABLE } from "../../core/agent/index.js";
import { createNonce } from "../channel/index.js";
import { realTimers, type Timers } from "../process/index.js";
import { isAlive, readPids, waitFor } from "./agent-harness.test-support.js";
import { findSessionProcesses, killSession } from "./agent-session-processes.js";

const dir = mkdtempSync(join(tmpdir(), "agent-procs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A clock that jumps: every timer fires at once, and time moves by its delay. */
function jumpingTimers(): Timers {
  let now = 0;
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      now += ms;
      queueMicrotask(callback);
      return undefined;
    },
    clearTimeout: () => {},
  };
}

describe("killSession, the order of signals", () => {
  test("HUP and CONT to the group and each marked process; KILL after the grace for what is left", async () => {
    const sent: string[] = [];
    let alive = [11, 12];
    await killSession({
      sessionId: "s",
      groupId: 10,
      leaderExited: () => true,
      graceMs: 200,
      timers: jumpingTimers(),
      find: async () => alive,
      kill: (pid, signal) => {
        sent.push(`${signal} ${pid}`);
        if (signal === "SIGKILL") alive = alive.filter((other) => other !== pid);
      },
    });
    expect(sent).toEqual([
      "SIGHUP -10",
      "SIGHUP 11",
      "SIGHUP 12",
      "SIGCONT -10",
      "SIGCONT 11",
      "SIGCONT 12",
      "SIGKILL -10",
      "SIGKILL 11",
      "SIGKILL 12",
    ]);
  });

  test("no KILL when everything ended on the HUP", async () => {
    const sent: string[] = [];
    let alive = [11];
    await killSession({
      sessionId: "s",
      groupId: 10,
      leaderExited: () => true,
      graceMs: 1000,
      timers: jumpingTimers(),
      find: async () => alive,
      kill: (pid, signal) => {
        sent.push(`${signal} ${pid}`);
        if (signal === "SIGCONT") alive = [];
      },
    });
    expect(sent.filter((line) => line.startsWith("SIGKILL"))).toEqual([]);
  });
});

describe("real processes", () => {
  test("finds every marked process, in other groups and sessions too, and kills them all", async () => {
    const sessionId = createNonce();
    const pidFile = join(dir, "pids");
    const script = [
      `sleep 60 & echo $! >> ${pidFile}`,
      `(setsid sh -c 'trap "" HUP; sleep 61' & echo $! >> ${pidFile})`,
      `echo $$ >> ${pidFile}`,
      "wait",
    ].join("; ");
    const child = spawn("/bin/sh", ["-c", script], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, [SESSION_MARKER_VARIABLE]: sessionId },
    });
    let leaderExited = false;
    child.on("exit", () => {
      leaderExited = true;
    });
    expect(await waitFor(() => readPids(pidFile).length === 3)).toBe(true);
    const pids = readPids(pidFile);
    expect(await waitFor(async () => (await findSessionProcesses(sessionId)).length >= 3)).toBe(true);
    expect(await findSessionProcesses(sessionId)).toEqual(expect.arrayContaining(pids));
    expect(await findSessionProcesses(createNonce())).toEqual([]);
    await killSession({
      sessionId,
      groupId: child.pid,
      leaderExited: () => leaderExited,
      graceMs: 200,
      timers: realTimers,
    });
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await findSessionProcesses(sessionId)).toEqual([]);
  });
});
