// The agent end to end on 127.0.0.1: the real server with real child processes, the client
// in-process on in-memory streams. What a killed client process leaves behind is tested with
// the bundled binary in agent-ssh-binary.test.ts.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import {
  collector,
  isAlive,
  readPids,
  runCleanups,
  runClient,
  startServer,
  waitFor,
} from "./agent-harness.test-support.js";

afterEach(runCleanups);

describe("commands and their exit codes", () => {
  test.each([
    ["true", 0],
    ["exit 7", 7],
    ["kill -9 $$", 137],
    ["kill -TERM $$", 143],
  ])("`%s` → %i", async (command, code) => {
    const { options } = await startServer();
    expect((await runClient(options, ["node1", command])).code).toBe(code);
  });

  test("echo data | ssh node1 cat", async () => {
    const { options } = await startServer();
    expect(await runClient(options, ["node1", "cat"], "data\n")).toEqual({
      code: 0,
      stdout: Buffer.from("data\n"),
      stderr: "",
    });
  });

  // As ssh: the words are joined with single spaces and the remote's sh splits them again.
  test.each([
    [["node1", `echo "a b"`], "a b\n"],
    [["node1", "echo", '"a   b"'], "a   b\n"],
    [["node1", "echo", "a", "  b"], "a b\n"],
    [["node1", "echo '$HOME'"], "$HOME\n"],
    [["node1", "echo", "a;", "echo", "b"], "a\nb\n"],
  ])("quoting: %j prints %j", async (argv, expected) => {
    const { options } = await startServer();
    expect((await runClient(options, argv)).stdout.toString()).toBe(expected);
  });

  test("stderr stays apart from stdout; the command starts in HOME with the job's environment and LANG", async () => {
    const { options, home } = await startServer();
    const run = await runClient(options, ["node1", 'echo out; echo err >&2; pwd; echo "$LANG"']);
    expect(run).toEqual({ code: 0, stdout: Buffer.from(`out\n${home}\nC.UTF-8\n`), stderr: "err\n" });
  });

  test("no command: the login shell reads the commands from stdin", async () => {
    const { options } = await startServer({ env: { PATH: process.env.PATH ?? "/bin", SHELL: "/bin/sh" } });
    const run = await runClient(options, ["node1"], 'case "$0" in -*) echo login;; esac; exit 4\n');
    expect({ code: run.code, stdout: run.stdout.toString() }).toEqual({ code: 4, stdout: "login\n" });
  });
});

describe("ptys", () => {
  test("-t: the command gets a terminal (util-linux script), and its exit status", async () => {
    const { options } = await startServer();
    const run = await runClient(options, ["-t", "node1", "tty; exit 3"]);
    expect({ code: run.code, stdout: run.stdout.toString() }).toEqual({
      code: 3,
      stdout: expect.stringMatching(/^\/dev\/pts\/\d+\r\n$/),
    });
  });

  test("-t in an image without script: pipes, and the client is told once", async () => {
    const { options } = await startServer({ env: { PATH: "/nonexistent" } });
    expect(await runClient(options, ["-t", "node1", "echo hi"])).toEqual({
      code: 0,
      stdout: Buffer.from("hi\n"),
      stderr:
        "srun-docker agent on node1: no pty: this image has no util-linux `script`; running without one (no job control, no line editing)\n",
    });
  });
});

test("a spawn that throws: one line and 255, and the server goes on serving", async () => {
  let fail = true;
  const { options } = await startServer({
    spawn: ((...args: Parameters<typeof spawn>) => {
      if (fail) throw new Error("spawn refused");
      return spawn(...args);
    }) as typeof spawn,
  });
  const run = await runClient(options, ["node1", "true"]);
  expect(run).toEqual({
    code: 255,
    stdout: Buffer.alloc(0),
    stderr: "srun-docker agent on node1: cannot start the command: Error: spawn refused\n",
  });
  fail = false;
  expect((await runClient(options, ["node1", "exit 4"])).code).toBe(4);
});

describe("bulk data", () => {
  test("100 MB of output arrives intact (checksum), and its throughput is printed", async () => {
    const { options, home } = await startServer();
    const file = join(home, "blob");
    const blob = randomBytes(100 * 1000 * 1000);
    await writeFile(file, blob);
    const expected = createHash("sha256").update(blob).digest("hex");
    const hash = createHash("sha256");
    let bytes = 0;
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done();
      },
    });
    const started = performance.now();
    const code = await runClient(options, ["node1", `cat ${file}`], "", { streams: streamsWith(stdout) }).then(
      (run) => run.code,
    );
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `agent throughput, 100 MB stdout, client and server in one process: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`,
    );
    expect({ code, bytes, sha256: hash.digest("hex") }).toEqual({ code: 0, bytes: blob.length, sha256: expected });
  }, 60_000);

  test("20 MB of input arrives intact through the stdin window", async () => {
    const { options } = await startServer();
    const input = randomBytes(20 * 1000 * 1000);
    const run = await runClient(options, ["node1", "sha256sum"], input);
    expect(run.stdout.toString().split(" ")[0]).toBe(createHash("sha256").update(input).digest("hex"));
  }, 30_000);

  test("stdin back-pressure: a command that does not read yet holds the client to its window", async () => {
    const { options, home } = await startServer();
    let pulled = 0;
    const total = 16 * 1024 * 1024;
    const stdin = new Readable({
      read() {
        if (pulled >= total) return void this.push(null);
        pulled += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 7));
      },
    });
    const gate = join(home, "gate");
    const stdout = collector();
    const running = runClient(options, ["node1", `while [ ! -e ${gate} ]; do sleep 0.02; done; wc -c`], "", {
      streams: streamsWith(stdout, stdin),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The window (1 MiB), the pipe (64 KiB), and the streams' own buffers on the way.
    expect(pulled).toBeLessThan(2 * 1024 * 1024);
    await writeFile(gate, "");
    const { code } = await running;
    expect({ code, count: Number(stdout.data().toString().trim()), pulled }).toEqual({
      code: 0,
      count: total,
      pulled: total,
    });
  }, 30_000);

  test("stdout back-pressure: a slow reader holds the remote writer (its write blocks)", async () => {
    const { options, home } = await startServer();
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let bytes = 0;
    const stdout = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        void released.then(() => done());
      },
    });
    const pidFile = join(home, "pid");
    const running = runClient(options, ["node1", `echo $$ > ${pidFile}; exec head -c 50000000 /dev/zero`], "", {
      streams: streamsWith(stdout),
    });
    await waitFor(() => readPids(pidFile).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [pid] = readPids(pidFile) as [number];
    expect(isAlive(pid)).toBe(true);
    expect(bytes).toBeLessThan(1024 * 1024);
    release();
    expect((await running).code).toBe(0);
    expect(bytes).toBe(50_000_000);
  }, 30_000);
});

describe("signals", () => {
  const trapping = `trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.05; done`;

  test("a local SIGINT is forwarded and the client waits for the remote exit", async () => {
    const { options } = await startServer();
    const signals = new EventEmitter();
    const stdout = collector();
    const running = runClient(options, ["node1", trapping], "", { signals, streams: streamsWith(stdout) });
    await waitFor(() => stdout.data().toString().includes("ready"));
    signals.emit("SIGINT");
    expect((await running).code).toBe(42);
    expect(stdout.data().toString()).toBe("ready\ngot-int\n");
  });

  test("a second signal ends the client with 130, and the server kills the command", async () => {
    const { options, home, server } = await startServer();
    const signals = new EventEmitter();
    const stdout = collector();
    const pidFile = join(home, "pid");
    const command = `trap '' INT; echo $$ > ${pidFile}; echo ready; while :; do sleep 0.05; done`;
    const running = runClient(options, ["node1", command], "", { signals, streams: streamsWith(stdout) });
    await waitFor(() => stdout.data().toString().includes("ready"));
    signals.emit("SIGINT");
    signals.emit("SIGINT");
    expect((await running).code).toBe(130);
    const [pid] = readPids(pidFile) as [number];
    expect(await waitFor(() => !isAlive(pid))).toBe(true);
    expect(await waitFor(() => server.connectionCount() === 0)).toBe(true);
  });
});

describe("checkpoint signals", () => {
  test("SIGUSR1 and SIGUSR2 reach the remote command every time, and the client waits for its exit", async () => {
    const { options } = await startServer();
    const signals = new EventEmitter();
    const stdout = collector();
    const command = `n=0; trap 'n=$((n+1)); echo usr1-$n' USR1; trap 'echo usr2; exit 7' USR2; echo ready; while :; do sleep 0.05; done`;
    const running = runClient(options, ["node1", command], "", { signals, streams: streamsWith(stdout) });
    await waitFor(() => stdout.data().toString().includes("ready"));
    signals.emit("SIGUSR1");
    await waitFor(() => stdout.data().toString().includes("usr1-1"));
    signals.emit("SIGUSR1");
    await waitFor(() => stdout.data().toString().includes("usr1-2"));
    signals.emit("SIGUSR2");
    expect((await running).code).toBe(7);
    expect(stdout.data().toString()).toBe("ready\nusr1-1\nusr1-2\nusr2\n");
  });
});

describe("refusals", () => {
  test("a wrong secret: 255 naming the node and why, and nothing is ever spawned", async () => {
    const { server, options, spawns, logs } = await startServer();
    const run = await runClient({ ...options, secret: Buffer.alloc(32, 9) }, ["node1", "touch /tmp/never"]);
    expect(run).toEqual({
      code: 255,
      stdout: Buffer.alloc(0),
      stderr:
        "srun-docker ssh: node1: its agent refused the connection: authentication failed (another job's secret, or not srun-docker)\n",
    });
    expect(spawns()).toBe(0);
    await server.close();
    expect(logs).toEqual([expect.stringContaining("refused 1 connection that did not authenticate in ")]);
  });

  test("another job step's key is refused the same way", async () => {
    const { options, spawns } = await startServer();
    expect((await runClient({ ...options, jobKey: "4242.1" }, ["node1", "true"])).code).toBe(255);
    expect(spawns()).toBe(0);
  });

  test("a node that answers under another name: the client is told where it landed", async () => {
    const { options, spawns } = await startServer();
    const nodes = [{ ...(options.nodes[0] as (typeof options.nodes)[0]), name: "node2" }];
    const run = await runClient({ ...options, nodes }, ["node2", "true"]);
    expect(run.stderr).toBe("srun-docker ssh: node2: its agent refused the connection: this is node1, not node2\n");
    expect(spawns()).toBe(0);
  });

  test("nothing listening: tried again until the timeout, then 255 with one line", async () => {
    const { options, server } = await startServer();
    await server.close();
    const startedAt = Date.now();
    const run = await runClient({ ...options, timeoutMs: 1500 }, ["node1", "true"]);
    expect(run.code).toBe(255);
    expect(run.stderr).toMatch(
      /^srun-docker ssh: node1: cannot connect to its agent at 127\.0\.0\.1:\d+: connection refused for 1\.\d s \(is the job's agent running there\?\)\n$/,
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
  });

  test("an agent that listens only after the first tries (the script started first): the command runs", async () => {
    const { options, server } = await startServer();
    const port = server.port;
    await server.close();
    const running = runClient(options, ["node1", "echo reached"]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = await startServer({ ports: [port] });
    expect(late.server.port).toBe(port);
    const run = await running;
    expect(run).toEqual({ code: 0, stdout: Buffer.from("reached\n"), stderr: "" });
  });

  test("the server kills every open session's processes when it closes", async () => {
    const { options, server, home } = await startServer();
    const pidFile = join(home, "pid");
    const running = runClient(options, ["node1", `sleep 30 & echo $! > ${pidFile}; wait`]);
    await waitFor(() => readPids(pidFile).length === 1);
    await server.close();
    const [pid] = readPids(pidFile) as [number];
    expect(isAlive(pid)).toBe(false);
    expect((await running).code).toBe(255);
  });
});

test("round-trip latency of `ssh node1 true`, in-process client (printed, not asserted)", async () => {
  const { options } = await startServer();
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    await runClient(options, ["node1", "true"]);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(
    `agent round trip of \`true\` (connect, handshake, spawn sh, exit), in-process client: median ${times[15]?.toFixed(1)} ms, min ${times[0]?.toFixed(1)} ms`,
  );
  expect(times).toHaveLength(30);
});

function streamsWith(stdout: Writable, stdin: Readable = Readable.from([])) {
  return { stdin, stdout, stderr: collector() };
}
