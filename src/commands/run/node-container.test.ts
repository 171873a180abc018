// NodeContainer's state machine against a fake engine and a fake lifeline: a removal wins
// in every phase, and no container can be started after one.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { UserError } from "../../core/common/index.js";
import type { Lifeline } from "../../io/engine/index.js";
import { type ContainerEngine, type ContainerSetup, NodeContainer } from "./node-container.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "node-container-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function plan(sshdPort?: number, kind: "sshd" | "agent" = "sshd"): ContainerSetup {
  const jobDir = path.join(dir, "jobs/1.0/node1");
  return {
    containerName: "c1",
    jobDir,
    runArgs: ["run", "-d"],
    files: {},
    remote: sshdPort === undefined ? undefined : { kind, ports: [sshdPort], awaitedBeforeJob: kind === "sshd" },
    switchDir: path.join(jobDir, "switch"),
  };
}

/** What the engine was asked, in order; `run` resolves when the test says so. */
function fakeEngine() {
  const calls: string[] = [];
  const run = deferred<string>();
  let removals = 0;
  const engine = {
    node: "node1",
    failRemovals: 0,
    start: async (_args: string[], signal?: AbortSignal) => {
      calls.push("run");
      signal?.addEventListener("abort", () => {
        calls.push("run aborted");
        run.reject(new UserError("start-interrupted", "`docker run` on node1 was ended by SIGTERM"));
      });
      return run.promise;
    },
    remove: async (names: readonly string[]) => {
      calls.push(`remove ${names.join(",")}`);
      if (removals++ < engine.failRemovals)
        throw new UserError("remove-failed", "could not remove container on node1: c1 (daemon busy)");
    },
    watchUserNamespace: () => {},
    bin: "docker",
    stopped: undefined as Promise<number | undefined> | undefined,
    waitStopped: (_name: string, signal: AbortSignal) =>
      Promise.race([
        engine.stopped ?? new Promise<never>(() => {}),
        new Promise<undefined>((r) => signal.addEventListener("abort", () => r(undefined))),
      ]),
    removeLateArrival: async (name: string) => {
      calls.push(`late ${name}`);
    },
    lastLogLine: async () => "sh: 1: /usr/sbin/sshd: not found",
    outOfMemory: async () => false,
    containerStates: () => ({
      wait: (_name: string, signal: AbortSignal) =>
        new Promise<undefined>((r) => signal.addEventListener("abort", () => r(undefined))),
      look: async () => ({ kind: "running" }) as const,
    }),
  };
  const runtime: ContainerEngine = engine;
  return { engine, calls, run, runtime };
}

const untilAborted = (signal: AbortSignal) =>
  new Promise<undefined>((r) => signal.addEventListener("abort", () => r(undefined)));

function fakeLifeline(
  mainExit: Promise<number | undefined> = new Promise(() => {}),
  remotePort: Promise<number | undefined> = new Promise(() => {}),
) {
  const events: string[] = [];
  const hold = async (switchDir: string): Promise<Lifeline> => {
    events.push("hold");
    return {
      dir: switchDir,
      path: `${switchDir}/lifeline`,
      cut: () => events.push("cut"),
      handOff: () => events.push("hand-off"),
      mainExit: (signal) => Promise.race([mainExit, untilAborted(signal)]),
      remotePort: (signal) => Promise.race([remotePort, untilAborted(signal)]),
    };
  };
  return { hold, events };
}

test("removal before start: nothing is run, start is refused", async () => {
  const { runtime, calls } = fakeEngine();
  const container = new NodeContainer(runtime, plan(), fakeLifeline().hold);
  await container.remove();
  await expect(container.start(1000)).rejects.toThrow(/cancelled/);
  expect(calls).toEqual([]);
});

test("removal while `run` is in flight waits for it, then cuts the lifeline and removes", async () => {
  const { runtime, calls, run } = fakeEngine();
  const { hold, events } = fakeLifeline();
  const container = new NodeContainer(runtime, plan(), hold);
  const started = container.start(1000);
  started.catch(() => undefined); // asserted below, once the removal is done
  await new Promise((r) => setTimeout(r, 20));
  expect(calls).toEqual(["run"]);
  const removed = container.remove();
  await new Promise((r) => setTimeout(r, 20));
  expect(calls).toEqual(["run"]); // still waiting for the engine's answer
  run.resolve("id");
  await removed;
  await expect(started).rejects.toThrow(/cancelled/);
  expect(calls).toEqual(["run", "remove c1"]);
  expect(events).toEqual(["hold", "cut"]);
  // Removed for good: no second start, and a second removal asks the engine nothing.
  await container.remove();
  expect(calls).toEqual(["run", "remove c1"]);
});

test("a `run` cut short while stopping: the removal also watches for a late container", async () => {
  const { runtime, calls, run } = fakeEngine();
  const container = new NodeContainer(runtime, plan(), fakeLifeline().hold);
  const started = container.start(1000);
  started.catch(() => undefined); // asserted below, once the removal is done
  await new Promise((r) => setTimeout(r, 20));
  const removed = container.remove();
  run.reject(new UserError("runtime", "cannot start the container on node1: no message"));
  await removed;
  await expect(started).rejects.toThrow(/no message/);
  expect(calls).toEqual(["run", "remove c1", "late c1"]);
});

test("a removal that failed is tried again by the next request", async () => {
  const { runtime, engine, calls, run } = fakeEngine();
  engine.failRemovals = 1;
  run.resolve("id");
  const container = new NodeContainer(runtime, plan(), fakeLifeline().hold);
  await container.start(1000);
  await expect(container.remove()).rejects.toThrow(/could not remove container on node1/);
  await container.remove();
  expect(calls).toEqual(["run", "remove c1", "remove c1"]);
});

test("sshd exiting during start-up fails at once with its last words, not at the deadline", async () => {
  const { runtime, run } = fakeEngine();
  run.resolve("id");
  const exit = deferred<number | undefined>();
  const container = new NodeContainer(runtime, plan(1), fakeLifeline(exit.promise).hold);
  const t0 = Date.now();
  const started = container.start(60_000);
  setTimeout(() => exit.resolve(127), 50);
  await expect(started).rejects.toThrow(
    "sshd in the container on node1 exited with 127 before it was ready: sh: 1: /usr/sbin/sshd: not found",
  );
  expect(Date.now() - t0).toBeLessThan(2000);
});

test("removal during the readiness wait ends the wait at once", async () => {
  const { runtime, calls, run } = fakeEngine();
  run.resolve("id");
  const container = new NodeContainer(runtime, plan(1), fakeLifeline().hold);
  const started = container.start(60_000);
  started.catch(() => undefined); // asserted below, once the removal is done
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  await container.remove();
  await expect(started).rejects.toThrow(/cancelled/);
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(calls).toEqual(["run", "remove c1"]);
});

test("a container killed during start-up (its init gone, e.g. out of memory) fails at once", async () => {
  const { runtime, engine, run } = fakeEngine();
  run.resolve("id");
  engine.stopped = new Promise((r) => setTimeout(() => r(137), 50));
  const container = new NodeContainer(runtime, plan(1), fakeLifeline().hold);
  const t0 = Date.now();
  await expect(container.start(60_000)).rejects.toThrow(
    "the container on node1 was killed (exit 137: out of memory, or SIGKILL) before it was ready",
  );
  expect(Date.now() - t0).toBeLessThan(2000);
});

test("a `run` CLI that hangs after the step's signal is ended after a second, then its container watched for", async () => {
  const { runtime, calls } = fakeEngine();
  const container = new NodeContainer(runtime, plan(), fakeLifeline().hold);
  const started = container.start(1000);
  started.catch(() => undefined); // asserted below
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  await container.remove();
  const waited = Date.now() - t0;
  await expect(started).rejects.toThrow(/ended by SIGTERM/);
  expect(calls).toEqual(["run", "run aborted", "remove c1", "late c1"]);
  expect(waited).toBeGreaterThanOrEqual(900);
  expect(waited).toBeLessThan(2000);
});

test("an agent is not awaited: start returns once the container runs; its exit later is said by serviceFailure", async () => {
  const { runtime, run } = fakeEngine();
  run.resolve("id");
  const exit = deferred<number | undefined>();
  // Port 1: nothing answers there, as an agent that is still starting.
  const container = new NodeContainer(runtime, plan(1, "agent"), fakeLifeline(exit.promise).hold);
  const t0 = Date.now();
  await container.start(60_000);
  expect(Date.now() - t0).toBeLessThan(1000);
  const failure = container.serviceFailure();
  exit.resolve(1);
  await expect(failure).rejects.toThrow(
    "srun-docker's agent in the container on node1 exited with 1 before it was ready: sh: 1: /usr/sbin/sshd: not found",
  );
});

test("an agent not awaited: removing the container is no service failure", async () => {
  const { runtime, run } = fakeEngine();
  run.resolve("id");
  const container = new NodeContainer(runtime, plan(1, "agent"), fakeLifeline().hold);
  await container.start(60_000);
  const failure = container.serviceFailure().then(
    () => "resolved",
    () => "rejected",
  );
  await container.remove();
  const settled = await Promise.race([failure, new Promise((r) => setTimeout(() => r("pending"), 200))]);
  expect(settled).toBe("pending");
});

test("sshd says which port it bound: start returns once it answers there, and names it", async () => {
  const { runtime, run } = fakeEngine();
  run.resolve("id");
  const sshd = createServer((socket) => socket.end("SSH-2.0-test\r\n"));
  await new Promise<void>((resolve) => sshd.listen(0, "127.0.0.1", resolve));
  const port = (sshd.address() as { port: number }).port;
  try {
    const said = deferred<number | undefined>();
    const container = new NodeContainer(runtime, plan(1), fakeLifeline(undefined, said.promise).hold);
    const started = container.start(60_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(container.remotePort()).toBeUndefined();
    said.resolve(port);
    await started;
    expect(container.remotePort()).toBe(port);
    expect(await container.served()).toBe(port);
  } finally {
    sshd.close();
  }
});

test("a server that neither says its port nor exits fails at the deadline, saying so", async () => {
  const { runtime, run } = fakeEngine();
  run.resolve("id");
  const container = new NodeContainer(runtime, plan(1), fakeLifeline().hold);
  await expect(container.start(300)).rejects.toThrow(
    "sshd in the container on node1 did not start listening within 0.3 s",
  );
});
