// `docker exec` over the Engine API against a fake dockerd on a unix socket: the hijacked
// start (101), frames split anywhere, stdin and its half-close, the exit code, the errors.
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { ExecPlan } from "../../core/engine/index.js";
import { encodeFrame } from "../../core/engine/index.js";
import { createDockerApi, type DockerApi } from "./docker-api.js";
import { type ExecStdio, startApiExec, startDetachedApiExec } from "./docker-exec.js";
import { type FakeDaemon, startFakeDaemon } from "./fake-docker-daemon.test-support.js";

let daemon: FakeDaemon;
let api: DockerApi;
beforeEach(async () => {
  daemon = await startFakeDaemon();
  daemon.containers.set("c1", { Names: ["/c1"], Labels: {} });
  api = createDockerApi(daemon.socket);
});
afterEach(() => daemon.close());

const PLAN: ExecPlan = {
  name: "c1",
  user: { uid: 1001, gid: 1002 },
  workdir: "/home/alice/run",
  env: { OMPI_MCA_x: "1", SPACED: "a b" },
  envNames: ["SLURM_PROCID", "NOT_SET_HERE"],
  command: ["/home/alice/job.sh", "arg 1"],
};

/** Output collected per stream, in the order it was written. */
function collect(): ExecStdio & { out: () => string; err: () => string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        into.push(chunk);
        done();
      },
    });
  return {
    stdout: sink(out),
    stderr: sink(err),
    out: () => Buffer.concat(out).toString(),
    err: () => Buffer.concat(err).toString(),
  };
}

test("runs the plan as `docker exec` would: the exec's config, a hijacked start, stdout and stderr apart, the exit code", async () => {
  daemon.process = async ({ write }) => {
    write("stdout", "hello ");
    write("stderr", "warning\n");
    write("stdout", "world\n");
    return 3;
  };
  const stdio = collect();
  const exit = await startApiExec(api, PLAN, { node: "node1", env: { SLURM_PROCID: "4" }, stdio }).exit;
  expect(exit).toEqual({ code: 3, signal: null });
  expect(stdio.out()).toBe("hello world\n");
  expect(stdio.err()).toBe("warning\n");
  const exec = daemon.execs.get("exec1");
  // `-e NAME` takes the value from our environment; a name unset here goes bare (the daemon unsets it).
  expect(exec?.config).toEqual({
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    User: "1001:1002",
    WorkingDir: "/home/alice/run",
    Env: ["SLURM_PROCID=4", "NOT_SET_HERE", "OMPI_MCA_x=1", "SPACED=a b"],
    Cmd: ["/home/alice/job.sh", "arg 1"],
  });
  expect(exec?.startHeaders).toMatchObject({ connection: "Upgrade", upgrade: "tcp" });
  expect(JSON.parse(exec?.startBody ?? "")).toEqual({ Detach: false, Tty: false });
  expect(daemon.requests).toEqual([
    "POST /containers/c1/exec",
    "POST /exec/exec1/start (upgrade)",
    "GET /exec/exec1/json",
  ]);
});

test("frames cut anywhere (one byte at a time, several in one write) come out whole and in order", async () => {
  const frames = Buffer.concat([
    encodeFrame("stdout", "a".repeat(70_000)),
    encodeFrame("stderr", "e1\n"),
    encodeFrame("stdout", "b"),
    encodeFrame("system", "daemon says\n"),
    encodeFrame("stdout", ""),
  ]);
  daemon.process = async ({ socket }) => {
    socket.write(frames.subarray(0, 3));
    for (let i = 3; i < 40; i++) socket.write(frames.subarray(i, i + 1));
    socket.write(frames.subarray(40));
    return 0;
  };
  const stdio = collect();
  expect(await startApiExec(api, PLAN, { node: "node1", env: {}, stdio }).exit).toEqual({ code: 0, signal: null });
  expect(stdio.out()).toBe(`${"a".repeat(70_000)}b`);
  expect(stdio.err()).toBe("e1\ndaemon says\n");
});

test("without -i the exec's stdin is closed at once (the CLI's CloseWrite), and our stdin is not read", async () => {
  let sawEnd = false;
  daemon.process = async ({ stdinClosed }) => {
    await stdinClosed;
    sawEnd = true;
    return 0;
  };
  const stdin = new PassThrough();
  stdin.write("not for it");
  await startApiExec(api, PLAN, { node: "node1", env: {}, stdio: { ...collect(), stdin } }).exit;
  expect(sawEnd).toBe(true);
  expect(stdin.read()?.toString()).toBe("not for it");
});

test("with -i our stdin streams to the process, and its end is the exec's end of input", async () => {
  daemon.process = async ({ stdin, write }) => {
    let bytes = 0;
    for await (const chunk of stdin) {
      bytes += chunk.length;
      write("stdout", chunk);
    }
    write("stderr", `${bytes} bytes\n`);
    return 0;
  };
  const stdin = new PassThrough();
  const stdio = { ...collect(), stdin };
  const exec = startApiExec(api, { ...PLAN, interactive: true }, { node: "node1", env: {}, stdio });
  stdin.write("line 1\n");
  setTimeout(() => stdin.end("line 2\n"), 20);
  expect(await exec.exit).toEqual({ code: 0, signal: null });
  expect(stdio.out()).toBe("line 1\nline 2\n");
  expect(stdio.err()).toBe("14 bytes\n");
  expect(daemon.execs.get("exec1")?.config.AttachStdin).toBe(true);
});

test("output that ends before the process does: the exit code is asked again until it has one", async () => {
  daemon.runningAfterEnd = 3;
  daemon.process = async () => 7;
  const exit = await startApiExec(api, PLAN, { node: "node1", env: {}, stdio: collect(), pollMs: 1 }).exit;
  expect(exit).toEqual({ code: 7, signal: null });
  expect(daemon.requests.filter((r) => r === "GET /exec/exec1/json")).toHaveLength(4);
});

test("a slow stdout holds the stream back, and the exit waits until every byte is written", async () => {
  const chunks = Array.from({ length: 250 }, (_, i) => `chunk ${i} ${"x".repeat(4000)}\n`);
  daemon.process = async ({ write }) => {
    for (const chunk of chunks) write("stdout", chunk);
    return 0;
  };
  const written: string[] = [];
  let pending = 0;
  let mostBuffered = 0;
  const stdout = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      mostBuffered = Math.max(mostBuffered, this.writableLength);
      pending++;
      setTimeout(() => {
        written.push(chunk.toString());
        pending--;
        done();
      }, 1);
    },
  });
  const exit = await startApiExec(api, PLAN, { node: "node1", env: {}, stdio: { stdout, stderr: collect().stderr } })
    .exit;
  expect(exit.code).toBe(0);
  expect(pending).toBe(0);
  expect(written.join("")).toBe(chunks.join(""));
  // Paused, the socket held the rest: never more than about one socket read (64 KiB) waited here.
  expect(mostBuffered).toBeLessThan(200_000);
});

test("a stdout whose reader is gone (EPIPE) drops the rest of stdout; stderr and the exit code still come", async () => {
  daemon.process = async ({ write }) => {
    for (let i = 0; i < 5; i++) write("stdout", `line ${i}\n`);
    write("stderr", "still here\n");
    return 2;
  };
  let attempts = 0;
  const stdout = new Writable({
    write(_chunk, _enc, done) {
      attempts++;
      done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    },
  });
  // No error listener of the test's own: an unhandled error event would fail it.
  const stdio = collect();
  const exit = await startApiExec(api, PLAN, { node: "node1", env: {}, stdio: { stdout, stderr: stdio.stderr } }).exit;
  expect(exit).toEqual({ code: 2, signal: null });
  expect(stdio.err()).toBe("still here\n");
  expect(attempts).toBe(1);
});

test("an exec whose container is removed under it ended by SIGKILL (its exec is gone too)", async () => {
  daemon.process = async () => {
    daemon.execs.delete("exec1");
    return 137;
  };
  expect(await startApiExec(api, PLAN, { node: "node1", env: {}, stdio: collect() }).exit).toEqual({
    code: null,
    signal: "SIGKILL",
  });
});

test("no such container: rejects naming the command, the container, the node and the daemon's words", async () => {
  await expect(
    startApiExec(api, { ...PLAN, name: "gone" }, { node: "node3", env: {}, stdio: collect() }).exit,
  ).rejects.toThrow("cannot run `/home/alice/job.sh` in gone on node3: No such container: gone");
});

test("no daemon: rejects naming the node and the socket", async () => {
  const absent = createDockerApi(path.join(path.dirname(daemon.socket), "absent.sock"));
  await expect(startApiExec(absent, PLAN, { node: "node4", env: {}, stdio: collect() }).exit).rejects.toThrow(
    /docker is not usable on node4: .*ENOENT.*absent\.sock/,
  );
});

test("a detached helper (kill in the container) is started without a stream", async () => {
  let ran = false;
  daemon.process = async () => {
    ran = true;
    return 0;
  };
  await startDetachedApiExec(api, { ...PLAN, command: ["kill", "-s", "TERM", "42"] }, "node1");
  expect(ran).toBe(true);
  const exec = daemon.execs.get("exec1");
  expect(exec?.config).toMatchObject({ AttachStdout: false, AttachStderr: false, Cmd: ["kill", "-s", "TERM", "42"] });
  expect(JSON.parse(exec?.startBody ?? "")).toEqual({ Detach: true, Tty: false });
  expect(daemon.requests).toEqual(["POST /containers/c1/exec", "POST /exec/exec1/start"]);
});
