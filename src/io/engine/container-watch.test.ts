// The job-long watch: a scripted engine and a clock that moves only when the watch sleeps for
// the loop; a real HTTP server on a unix socket for the Engine API's side; a stand-in CLI.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import type { ContainerEnd, ContainerStatus } from "../../core/engine/index.js";
import type { RunCommandResult, Timers } from "../process/index.js";
import {
  apiContainerStates,
  type ContainerStates,
  cliContainerStates,
  ENGINE_PATIENCE_MS,
  PID_POLL_MS,
  podmanContainerStates,
  procStartTime,
  type WaitAnswer,
  watchContainerEnd,
} from "./container-watch.js";
import { createDockerApi } from "./docker-api.js";

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

/** An engine that answers from two scripts (the last answer repeats) and records each question. */
function scripted(waits: WaitAnswer[], looks: ContainerStatus[] = []): ContainerStates & { asked: string[] } {
  const asked: string[] = [];
  const next = <T>(list: T[]): T => (list.length > 1 ? (list.shift() as T) : (list[0] as T));
  return {
    asked,
    wait: async () => {
      asked.push("wait");
      return next(waits);
    },
    look: async () => {
      asked.push("look");
      return next(looks);
    },
  };
}

const broken: WaitAnswer = { kind: "broken", why: "socket hang up" };
const refused: ContainerStatus = { kind: "unreachable", why: "connect ECONNREFUSED /var/run/docker.sock" };
/** How many looks at a silent engine fit in the patience (one every 100 ms, the first at once). */
const LOOKS = ENGINE_PATIENCE_MS / 100 + 1;

test.each<[string, WaitAnswer[], ContainerStatus[], ContainerEnd, string[]]>([
  ["killed: the wait says its code", [{ kind: "exited", code: 137 }], [], { kind: "exited", code: 137 }, ["wait"]],
  ["removed before the watch began", [{ kind: "gone" }], [], { kind: "gone" }, ["wait"]],
  [
    "the wait broke and the container had stopped (a daemon restart without live-restore)",
    [broken],
    [{ kind: "exited", code: 143 }],
    { kind: "exited", code: 143 },
    ["wait", "look"],
  ],
  ["the wait broke and the container is gone", [broken], [{ kind: "gone" }], { kind: "gone" }, ["wait", "look"]],
  [
    "the daemon came back and the container runs on (live-restore): the watch waits again",
    [broken, { kind: "exited", code: 1 }],
    [refused, refused, { kind: "running" }],
    { kind: "exited", code: 1 },
    ["wait", "look", "look", "look", "wait"],
  ],
  [
    "the daemon stays silent past the patience: the container is lost",
    [broken],
    [refused],
    { kind: "engine-lost", why: refused.why },
    ["wait", ...Array<string>(LOOKS).fill("look")],
  ],
])("%s", async (_name, waits, looks, end, asked) => {
  const engine = scripted(waits, looks);
  expect(await watchContainerEnd(engine, "c1", new AbortController().signal, fakeTimers())).toEqual(end);
  expect(engine.asked).toEqual(asked);
});

test("an aborted watch (our teardown) says nothing, even when the container ends then", async () => {
  const stop = new AbortController();
  const engine: ContainerStates = {
    wait: async () => {
      stop.abort();
      return { kind: "exited", code: 137 };
    },
    look: async () => ({ kind: "running" }),
  };
  expect(await watchContainerEnd(engine, "c1", stop.signal, fakeTimers())).toBeUndefined();
});

// ---- Docker's Engine API on a unix socket ----

let server: Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = undefined;
  dir = undefined;
});

type Answer = { status: number; body: string } | "drop" | "hold";

/** A daemon answering every request by its path; "drop" closes the connection, as a dying daemon. */
async function daemon(answers: Record<string, Answer>): Promise<string> {
  dir = mkdtempSync(path.join(tmpdir(), "container-watch-"));
  const socket = path.join(dir, "docker.sock");
  server = createServer((req, res) => {
    const answer = answers[`${req.method} ${req.url}`] ?? { status: 404, body: '{"message":"page not found"}' };
    if (answer === "hold") return;
    if (answer === "drop") return req.socket.destroy();
    res.writeHead(answer.status, { "Content-Type": "application/json" });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server?.listen(socket, resolve));
  return socket;
}

const WAIT = "POST /containers/c1/wait?condition=not-running";
const LOOK = "GET /containers/c1/json";

test.each<[string, Answer, WaitAnswer]>([
  ["its exit code", { status: 200, body: '{"StatusCode":137}' }, { kind: "exited", code: 137 }],
  ["gone", { status: 404, body: '{"message":"No such container: c1"}' }, { kind: "gone" }],
  ["a dropped connection", "drop", { kind: "broken", why: "socket hang up" }],
  ["an engine error", { status: 500, body: '{"message":"oops"}' }, { kind: "broken", why: "oops" }],
])("the API's wait: %s", async (_name, answer, expected) => {
  const api = createDockerApi(await daemon({ [WAIT]: answer }));
  expect(await apiContainerStates(api).wait("c1", new AbortController().signal)).toEqual(expected);
});

test("the API's wait is one long poll that our teardown aborts", async () => {
  const api = createDockerApi(await daemon({ [WAIT]: "hold" }));
  const stop = new AbortController();
  const waiting = apiContainerStates(api).wait("c1", stop.signal);
  await new Promise((r) => setTimeout(r, 50));
  stop.abort();
  expect(await waiting).toBeUndefined();
});

test("the API's wait outlives the HTTP agent's 5 s idle timeout", { timeout: 15_000 }, async () => {
  const api = createDockerApi(await daemon({ [WAIT]: "hold" }));
  const stop = new AbortController();
  const waiting = apiContainerStates(api).wait("c1", stop.signal);
  const settled = await Promise.race([waiting.then(() => "settled"), sleepMs(6000).then(() => "waiting")]);
  stop.abort();
  expect(settled).toBe("waiting");
  expect(await waiting).toBeUndefined();
});

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.each<[string, Answer, ContainerStatus]>([
  ["running", { status: 200, body: '{"State":{"Running":true,"ExitCode":0}}' }, { kind: "running" }],
  ["exited", { status: 200, body: '{"State":{"Running":false,"ExitCode":137}}' }, { kind: "exited", code: 137 }],
  ["gone", { status: 404, body: '{"message":"No such container: c1"}' }, { kind: "gone" }],
  ["a daemon that drops us", "drop", { kind: "unreachable", why: "socket hang up" }],
])("the API's look: %s", async (_name, answer, expected) => {
  const api = createDockerApi(await daemon({ [LOOK]: answer }));
  expect(await apiContainerStates(api).look("c1")).toEqual(expected);
});

test("the API's look at a daemon that is not there", async () => {
  const api = createDockerApi(path.join(tmpdir(), `no-dockerd-${process.pid}.sock`));
  expect(await apiContainerStates(api).look("c1")).toMatchObject({ kind: "unreachable", why: /ENOENT/ });
});

// ---- the CLI: a docker CLI without a socket, and podman ----

function result(exitCode: number, stdout: string, stderr = ""): RunCommandResult {
  return { exitCode, signal: null, stdout, stderr, timedOut: false, aborted: false };
}

test("the CLI's wait and look, as the engines answer them", async () => {
  const asked: string[][] = [];
  const answers = [
    result(0, "137\n"),
    result(125, "", 'Error: no container with name or ID "c1" found: no such container\n'),
    result(125, "", "Error: cannot connect to the Podman socket\n"),
    result(0, "false 143\n"),
    result(0, "true 0\n"),
    result(125, "", 'Error: no such container "c1"\n'),
    result(125, "", "Error: database is locked\n"),
  ];
  const states = cliContainerStates(async (args) => {
    asked.push([...args]);
    return answers.shift() ?? result(1, "");
  });
  const signal = new AbortController().signal;
  expect(await states.wait("c1", signal)).toEqual({ kind: "exited", code: 137 });
  expect(await states.wait("c1", signal)).toEqual({ kind: "gone" });
  expect(await states.wait("c1", signal)).toEqual({
    kind: "broken",
    why: "Error: cannot connect to the Podman socket",
  });
  expect(await states.look("c1")).toEqual({ kind: "exited", code: 143 });
  expect(await states.look("c1")).toEqual({ kind: "running" });
  expect(await states.look("c1")).toEqual({ kind: "gone" });
  expect(await states.look("c1")).toEqual({ kind: "unreachable", why: "Error: database is locked" });
  expect(asked[0]).toEqual(["wait", "c1"]);
  expect(asked[3]).toEqual(["container", "inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", "c1"]);
});

test("the CLI's wait, aborted by our teardown, says nothing", async () => {
  const stop = new AbortController();
  const states = cliContainerStates(async () => {
    stop.abort();
    return { ...result(0, ""), exitCode: null, signal: "SIGTERM", aborted: true };
  });
  expect(await states.wait("c1", stop.signal)).toBeUndefined();
});

/** A podman CLI answering `inspect` by format (the main pid and conmon's, then the status lines in turn, "gone": removed) and `events`. */
function podmanCli(pid: string, statuses: string[], died = "") {
  const asked: string[] = [];
  const cli = async (args: readonly string[]) => {
    if (args[0] === "events") {
      asked.push("events");
      return result(0, died);
    }
    const format = args[3] ?? "";
    const pids = format === "{{.State.Pid}} {{.State.ConmonPid}}";
    asked.push(pids ? "pid" : "look");
    if (pids) return result(0, `${pid} 4240\n`);
    const status = statuses.shift() ?? "false 0";
    return status === "gone"
      ? result(125, "", 'Error: no container with name or ID "c1" found\n')
      : result(0, `${status}\n`);
  };
  return { cli, asked };
}

/** A /proc where pid 4242 started at `starts` in turn (undefined: gone), and how often it was read. */
function procOf(starts: (string | undefined)[]) {
  const reads = { count: 0 };
  const startTimeOf = async (pid: number) => {
    reads.count++;
    return pid === 4242 ? starts.shift() : undefined;
  };
  return { startTimeOf, reads };
}

test.each<[string, (string | undefined)[], string[], WaitAnswer]>([
  [
    "its main process ends: podman says how",
    ["100", "100", "100", undefined],
    ["false 137"],
    { kind: "exited", code: 137 },
  ],
  ["its pid is reused by another process", ["100", "100", "555"], ["false 0"], { kind: "exited", code: 0 }],
  ["podman has not recorded the exit yet", ["100", undefined], ["true 0"], { kind: "broken", why: expect.any(String) }],
])("podman's wait: %s", async (_name, starts, statuses, expected) => {
  const { cli, asked } = podmanCli("4242", statuses);
  const reads = starts.length;
  const proc = procOf(starts);
  const states = podmanContainerStates(cli, proc.startTimeOf, fakeTimers());
  expect(await states.wait("c1", new AbortController().signal)).toEqual(expected);
  // The engine is asked twice (its pid, then how it ended); the rest are reads of /proc.
  expect(asked).toEqual(["pid", "look"]);
  expect(proc.reads.count).toBe(reads);
});

test("podman's wait: a --rm container podman removed at once ends with its died event's code", async () => {
  const { cli, asked } = podmanCli("4242", ["gone"], "137\n");
  const states = podmanContainerStates(cli, procOf(["100", undefined]).startTimeOf, fakeTimers());
  expect(await states.wait("c1", new AbortController().signal)).toEqual({ kind: "exited", code: 137 });
  expect(asked).toEqual(["pid", "look", "events"]);
});

test("podman's end, seen running a moment too long and then removed, still has its code", async () => {
  const { cli, asked } = podmanCli("4242", ["true 0", "gone"], "137\n");
  const states = podmanContainerStates(cli, procOf(["100", undefined]).startTimeOf, fakeTimers());
  const end = await watchContainerEnd(states, "c1", new AbortController().signal, fakeTimers());
  expect(end).toEqual({ kind: "exited", code: 137 });
  expect(asked).toEqual(["pid", "look", "look", "events"]);
});

test("podman's wait polls /proc, not podman, and our teardown ends it at once", async () => {
  const { cli, asked } = podmanCli("4242", []);
  const stop = new AbortController();
  let reads = 0;
  const states = podmanContainerStates(cli, async () => {
    if (++reads === 5) setTimeout(() => stop.abort(), 0);
    return "100";
  });
  const started = performance.now();
  expect(await states.wait("c1", stop.signal)).toBeUndefined();
  expect(asked).toEqual(["pid"]);
  expect(reads).toBe(5);
  // The fifth read came after four pauses; the abort cut the fifth pause short.
  expect(performance.now() - started).toBeLessThan(5 * PID_POLL_MS);
});

test("podman's wait tells whom it may concern the container's conmon (it knows podman's runtime dir)", async () => {
  const { cli } = podmanCli("4242", ["false 0"]);
  const conmons: number[] = [];
  const states = podmanContainerStates(cli, procOf(["100", undefined]).startTimeOf, fakeTimers(), (pid) =>
    conmons.push(pid),
  );
  await states.wait("c1", new AbortController().signal);
  expect(conmons).toEqual([4240]);
});

test("podman's wait, when this node cannot see the process, asks podman once a second", async () => {
  const { cli, asked } = podmanCli("0", ["true 0", "true 0", "false 143", "false 143"]);
  const states = podmanContainerStates(cli, async () => undefined, fakeTimers());
  expect(await states.wait("c1", new AbortController().signal)).toEqual({ kind: "exited", code: 143 });
  expect(asked).toEqual(["pid", "look", "look", "look", "look"]);
});

test("a process's start time from the real /proc: ours, and none for a pid that is not there", async () => {
  expect(await procStartTime(process.pid)).toMatch(/^\d+$/);
  expect(await procStartTime(2 ** 22 + 1)).toBeUndefined();
});
