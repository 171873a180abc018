// A container ending by itself during the job: NodeContainer's `died` transition, driven by its
// DeathWatch against a fake engine (whose wait answers when the test kills the container) and,
// for a daemon that goes silent, a clock that moves only when the watch sleeps.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { deferred } from "../../core/common/index.js";
import type { ContainerEnd, ContainerStatus } from "../../core/engine/index.js";
import type { Lifeline, WaitAnswer } from "../../io/engine/index.js";
import type { Timers } from "../../io/process/index.js";
import { DeathWatch } from "./death-watch.js";
import { type ContainerEngine, NodeContainer } from "./node-container.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "death-watch-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An engine whose container runs until kill(); it records what it is asked. */
function fakeEngine() {
  const asked: string[] = [];
  const killed = deferred<WaitAnswer>();
  let status: ContainerStatus = { kind: "running" };
  const engine: ContainerEngine = {
    node: "node1",
    bin: "docker",
    start: async () => "id",
    remove: async (names) => {
      asked.push(`remove ${names.join(",")}`);
      status = { kind: "gone" };
    },
    removeLateArrival: async () => {},
    waitStopped: (_name, signal) => new Promise((r) => signal.addEventListener("abort", () => r(undefined))),
    lastLogLine: async () => "",
    watchUserNamespace: () => {},
    outOfMemory: async () => {
      asked.push("memory?");
      return false;
    },
    containerStates: () => ({
      wait: (_name, signal) => {
        asked.push("wait");
        signal.addEventListener("abort", () => asked.push("wait aborted"));
        return Promise.race([
          killed.promise,
          new Promise<undefined>((r) => signal.addEventListener("abort", () => r(undefined))),
        ]);
      },
      look: async () => {
        asked.push("look");
        return status;
      },
    }),
  };
  const kill = (code: number) => {
    status = { kind: "exited", code };
    killed.resolve({ kind: "exited", code });
  };
  return { engine, asked, kill, stop: (code: number) => (status = { kind: "exited", code }) };
}

const hold = async (switchDir: string): Promise<Lifeline> => ({
  dir: switchDir,
  path: `${switchDir}/lifeline`,
  cut: () => {},
  handOff: () => {},
  mainExit: () => new Promise(() => {}),
  remotePort: () => new Promise(() => {}),
});

async function upContainer(engine: ContainerEngine): Promise<NodeContainer> {
  const jobDir = path.join(dir, "jobs/1.0/node1");
  const setup = { containerName: "c1", jobDir, runArgs: [], files: {}, remote: undefined, switchDir: `${jobDir}/s` };
  const container = new NodeContainer(engine, setup, hold);
  await container.start(1000);
  return container;
}

/** Whether `promise` settled within a few turns of the event loop. */
async function settles(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30))]);
}

test("a container killed during the job: the watch says how, and the removal after it still runs", async () => {
  const { engine, asked, kill } = fakeEngine();
  const container = await upContainer(engine);
  const ended = container.deaths.ended();
  expect(await settles(ended)).toBe(false);
  kill(137);
  expect(await ended).toEqual({ kind: "exited", code: 137 });
  expect(await container.outOfMemory()).toBe(false);
  await container.remove();
  expect(asked).toEqual(["wait", "memory?", "wait aborted", "remove c1"]);
});

test("our own removal is no death: the watch is aborted and never says anything", async () => {
  const { engine, asked, kill } = fakeEngine();
  const container = await upContainer(engine);
  const ended = container.deaths.ended();
  await container.remove();
  kill(137); // the removal's kill, as the engine would report it
  expect(await settles(ended)).toBe(false);
  expect(await container.deaths.lookNow()).toBeUndefined();
  expect(asked).toEqual(["wait", "wait aborted", "remove c1"]);
});

test("the job's process ended first: a look finds the container stopped, and the watch agrees", async () => {
  const { engine, asked, stop } = fakeEngine();
  const container = await upContainer(engine);
  const ended = container.deaths.ended();
  expect(await container.deaths.lookNow()).toBeUndefined(); // it runs: the script failed alone
  stop(137); // killed; the exec ended before the wait answered
  const end: ContainerEnd = { kind: "exited", code: 137 };
  expect(await container.deaths.lookNow()).toEqual(end);
  expect(await ended).toEqual(end);
  expect(await container.deaths.lookNow()).toEqual(end); // told again without asking
  expect(asked).toEqual(["wait", "look", "look", "wait aborted"]);
});

test("an exec that ended as a kill ends one, before the engine marked the container stopped", async () => {
  const { engine, asked, kill } = fakeEngine();
  const container = await upContainer(engine);
  const ended = container.deaths.ended();
  const look = container.deaths.lookNow(5000); // the look says running; the wait answers soon after
  setTimeout(() => kill(137), 20);
  expect(await look).toEqual({ kind: "exited", code: 137 });
  expect(await ended).toEqual({ kind: "exited", code: 137 });
  expect(asked).toEqual(["wait", "look"]);
});

test("a script killed alone (its container runs on) waits out the grace, and nothing ended", async () => {
  const { engine } = fakeEngine();
  const container = await upContainer(engine);
  void container.deaths.ended();
  const t0 = Date.now();
  expect(await container.deaths.lookNow(100)).toBeUndefined();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
  await container.remove();
});

test("a watch begun after the death answers at once", async () => {
  const { engine, kill } = fakeEngine();
  const container = await upContainer(engine);
  kill(143);
  expect(await container.deaths.ended()).toEqual({ kind: "exited", code: 143 });
});

/** A clock that only moves when the code under test sleeps. */
function fakeTimers(): Timers {
  let now = 0;
  return {
    now: () => now,
    setTimeout: (callback, ms) => {
      now += ms;
      queueMicrotask(callback);
      return 0;
    },
    clearTimeout: () => {},
  };
}

test("a daemon that dies under the job: the container counts as lost once it stays silent", async () => {
  const deaths: Array<ContainerEnd | undefined> = [];
  const watch = new DeathWatch(
    {
      containerStates: () => ({
        wait: async () => ({ kind: "broken", why: "socket hang up" }),
        look: async () => ({ kind: "unreachable", why: "connect ECONNREFUSED /var/run/docker.sock" }),
      }),
    },
    "c1",
    (end) => {
      deaths.push(end);
      return end ?? deaths.find((d) => d !== undefined);
    },
    fakeTimers(),
  );
  const lost = { kind: "engine-lost", why: "connect ECONNREFUSED /var/run/docker.sock" };
  expect(await watch.ended()).toEqual(lost);
  expect(deaths).toEqual([lost]);
});
