// The job-long watch: a scripted engine and a clock that moves only when the watch sleeps for
// the loop; a real HTTP server on a unix socket for the Engine API's side; a stand-in CLI.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import type { ContainerEnd, ContainerStatus } from "../core/container-end.js";
import {
  apiContainerStates,
  type ContainerStates,
  cliContainerStates,
  ENGINE_PATIENCE_MS,
  type WaitAnswer,
  watchContainerEnd,
} from "./container-watch.js";
import { createDockerApi } from "./docker-api.js";
import type { RunCommandResult } from "./exec.js";
import type { Timers } from "./timers.js";

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

// ---- the CLI (podman) ----

function result(exitCode: number, stdout: string, stderr = ""): RunCommandResult {
  return { exitCode, signal: null, stdout, stderr, timedOut: false, aborted: false };
}

test("the CLI's wait and look, as podman answers them", async () => {
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
