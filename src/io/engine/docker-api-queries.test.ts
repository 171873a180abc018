// The runtime's queries over the Engine API (a fake dockerd on a unix socket) and over the CLI
// (podman, or docker where there is no socket): the same answers, no docker CLI where the API is.
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { encodeFrame } from "../../core/engine/index.js";
import { ContainerRuntime } from "../container/index.js";
import type { RunCommandResult } from "../process/index.js";
import { createDockerApi } from "./docker-api.js";
import { apiQueries, splitLogs } from "./docker-api-queries.js";
import { cliQueries } from "./engine-queries.js";
import { type FakeDaemon, startFakeDaemon } from "./fake-docker-daemon.test-support.js";

let daemon: FakeDaemon;
let cli: string[];
beforeEach(async () => {
  daemon = await startFakeDaemon();
  cli = [];
});
afterEach(() => daemon.close());

const result = (r: Partial<RunCommandResult>): RunCommandResult => ({
  exitCode: 0,
  signal: null,
  stdout: "",
  stderr: "",
  timedOut: false,
  aborted: false,
  ...r,
});

/** docker on the fake daemon's socket; every CLI call it would make is recorded (there should be none). */
function apiRuntime(socket = daemon.socket): ContainerRuntime {
  const run = async (file: string, args: readonly string[]) => {
    cli.push(`${file} ${args.join(" ")}`);
    return result({ exitCode: 1, stderr: "the CLI was not to be used" });
  };
  return new ContainerRuntime("docker", "node1", run, undefined, () => 1001, createDockerApi(socket));
}

test("inspectImage: the image's ID and PATH from one request, no CLI", async () => {
  daemon.images.set("reg:5000/team/img:1", { Id: "sha256:abc", Config: { Env: ["PATH=/opt/x:/bin", "A=1"] } });
  expect(await apiRuntime().inspectImage("reg:5000/team/img:1")).toEqual({ id: "sha256:abc", path: "/opt/x:/bin" });
  expect(daemon.requests).toEqual(["GET /images/reg%3A5000/team/img%3A1/json"]);
  expect(cli).toEqual([]);
});

test("inspectImage: an image the daemon does not have is named with the node and a hint", async () => {
  const error = await apiRuntime()
    .inspectImage("nope:1")
    .catch((e: unknown) => e);
  expect(error).toMatchObject({ code: "image-missing", message: "image `nope:1` is not present on node1" });
  expect((error as { hint: string }).hint).toMatch(/srun docker pull nope:1/);
});

test("inspectImage: no daemon behind the socket says so, with the socket, as the runtime error", async () => {
  const absent = path.join(path.dirname(daemon.socket), "absent.sock");
  await expect(apiRuntime(absent).inspectImage("img:1")).rejects.toMatchObject({
    code: "runtime",
    message: expect.stringMatching(
      /^docker is not usable on node1: cannot reach the daemon at .*absent\.sock: .*ENOENT/,
    ),
  });
});

test("list: the label filter as the CLI sends it, names without the slash", async () => {
  daemon.containers.set("a", { Names: ["/a"], Labels: { "srun-docker": "1", "srun-docker.uid": "1001" } });
  daemon.containers.set("b", { Names: ["/b"], Labels: { "srun-docker": "1", "srun-docker.uid": "1002" } });
  expect(await apiRuntime().list({ "srun-docker": "1", "srun-docker.uid": "1001" })).toEqual([
    { name: "a", labels: { "srun-docker": "1", "srun-docker.uid": "1001" } },
  ]);
  expect(cli).toEqual([]);
});

test("lastLogLine: stderr's last line first, as from `docker logs`, from the frames of a container without a TTY", async () => {
  const logs = Buffer.concat([
    encodeFrame("stdout", "starting\n"),
    encodeFrame("stderr", "sshd: no hostkeys available -- exiting.\n"),
    encodeFrame("stdout", "bye\n"),
  ]);
  daemon.containers.set("c", { Names: ["/c"], Labels: {}, logs });
  expect(await apiRuntime().lastLogLine("c")).toBe("sshd: no hostkeys available -- exiting.");
  expect(daemon.requests).toEqual(["GET /containers/c/logs?stdout=1&stderr=1&tail=20"]);
});

test("lastLogLine: the agent's summaries of refused connections after its last words are passed over", async () => {
  const logs = Buffer.concat([
    encodeFrame("stderr", "[node1 agent] listening on port 23000\n"),
    encodeFrame("stderr", "[node1 agent] error: cannot start: EMFILE\n"),
    encodeFrame(
      "stderr",
      "[node1 agent] refused 900 connections that did not authenticate in 1.0 s (900 rejected); most from 10.0.0.3 (900)\n",
    ),
  ]);
  daemon.containers.set("c", { Names: ["/c"], Labels: {}, logs });
  expect(await apiRuntime().lastLogLine("c")).toBe("[node1 agent] error: cannot start: EMFILE");
});

test("splitLogs: a TTY's raw text, frames labelled raw (API 1.41) or multiplexed (1.42+)", () => {
  const frames = Buffer.concat([encodeFrame("stdout", "o\n"), encodeFrame("stderr", "e\n")]);
  expect(splitLogs(Buffer.from("tty line\n"), "application/vnd.docker.raw-stream")).toEqual({
    stdout: "tty line\n",
    stderr: "",
  });
  expect(splitLogs(frames, "application/vnd.docker.raw-stream")).toEqual({ stdout: "o\n", stderr: "e\n" });
  expect(splitLogs(frames, "application/vnd.docker.multiplexed-stream")).toEqual({ stdout: "o\n", stderr: "e\n" });
  expect(splitLogs(Buffer.alloc(0), undefined)).toEqual({ stdout: "", stderr: "" });
});

test("signalProcess: the shell's `kill -s SIG -- pid` as the user, started detached in the container, no CLI", async () => {
  daemon.containers.set("c", { Names: ["/c"], Labels: {} });
  await apiRuntime().signalProcess("c", { uid: 1001, gid: 1001 }, 42, "SIGTERM");
  await apiRuntime().signalProcess("c", { uid: 1001, gid: 1001 }, -42, "SIGUSR1");
  const kill = ["/bin/sh", "-c", 'kill -s "$0" -- "$1"'];
  expect(daemon.execs.get("exec1")?.config).toMatchObject({ User: "1001:1001", Cmd: [...kill, "TERM", "42"] });
  // A negative pid is the process group it leads (the job script and what it started).
  expect(daemon.execs.get("exec2")?.config).toMatchObject({ User: "1001:1001", Cmd: [...kill, "USR1", "-42"] });
  expect(cli).toEqual([]);
});

test("signalProcess never rejects: no daemon, or no such container, is no signal to pass", async () => {
  const absent = path.join(path.dirname(daemon.socket), "absent.sock");
  await expect(apiRuntime(absent).signalProcess("c", { uid: 1, gid: 1 }, 42, "SIGINT")).resolves.toBeUndefined();
  await expect(apiRuntime().signalProcess("gone", { uid: 1, gid: 1 }, 42, "SIGINT")).resolves.toBeUndefined();
});

test("exec through the API: the script's exit code, and not a CLI in sight", async () => {
  daemon.containers.set("c", { Names: ["/c"], Labels: {} });
  daemon.process = async () => 5;
  const exit = await apiRuntime().exec({ name: "c", user: undefined, workdir: undefined, env: {}, command: ["true"] })
    .exit;
  expect(exit).toEqual({ code: 5, signal: null });
  expect(cli).toEqual([]);
});

test("the CLI side (podman, or docker without a socket) asks the same with argv", async () => {
  const calls: string[] = [];
  const spawned: string[] = [];
  const queries = cliQueries(
    "podman",
    async (args) => {
      calls.push(args.join(" "));
      if (args[0] === "image") return result({ exitCode: 125, stderr: "Error: img:1: image not known" });
      if (args[0] === "ps") return result({ stdout: '[{"Names":["c1"],"Labels":{"k":"v"}}]' });
      return result({ stdout: "out\n", stderr: "err\n" });
    },
    (file, args, options) => {
      spawned.push(`${file} ${args.join(" ")} (A=${options?.env?.A})`);
      return { child: undefined as never, exit: Promise.resolve({ code: 0, signal: null }) };
    },
  );
  expect(await queries.inspectImage("img:1")).toEqual({ kind: "missing" });
  expect(await queries.list({ k: "v" })).toEqual({ kind: "listed", containers: [{ name: "c1", labels: { k: "v" } }] });
  expect(await queries.logs("c1", 5)).toEqual({ stdout: "out\n", stderr: "err\n" });
  await queries.exec({ name: "c1", user: { uid: 1, gid: 2 }, workdir: "/w", env: { A: "1" }, command: ["job.sh"] })
    .exit;
  await queries.execHelper({ name: "c1", user: undefined, workdir: undefined, env: {}, command: ["kill", "1"] }, 3000);
  expect(calls).toEqual([
    'image inspect --format {{.Id}}{{range .Config.Env}}{{"\\n"}}{{.}}{{end}} img:1',
    "ps -a --no-trunc --format {{json .}} --filter label=k=v",
    "logs --tail 5 c1",
    "exec c1 kill 1",
  ]);
  // Every variable by name: its value travels in the CLI's environment, not on its command line.
  expect(spawned).toEqual(["podman exec -u 1:2 -w /w -e A c1 job.sh (A=1)"]);
});

test("a TTY exec stays with the docker CLI even where the API is", async () => {
  const spawned: string[] = [];
  const queries = apiQueries(createDockerApi(daemon.socket), "node1", (file, args) => {
    spawned.push(`${file} ${args.join(" ")}`);
    return { child: undefined as never, exit: Promise.resolve({ code: 0, signal: null }) };
  });
  await queries.exec({ name: "c", user: undefined, workdir: undefined, env: {}, command: ["bash"], tty: true }).exit;
  expect(spawned).toEqual(["docker exec -t c bash"]);
  expect(daemon.requests).toEqual([]);
});
