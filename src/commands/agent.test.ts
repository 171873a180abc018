// The agent as the integration will run it: src/main.ts bundled (as `npm run build` does), the
// server started as `srun-docker agent-server`, the client as that bundle under the name `ssh`,
// both configured by SRUN_DOCKER_AGENT_CONFIG. Real processes, so a client can be killed -9.
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isAlive, readPids, waitFor } from "../io/agent/agent-harness.test-support.js";

const dir = mkdtempSync(join(tmpdir(), "agent-bin-"));
const bundle = join(dir, "srun-docker.cjs");
const agentBin = join(dir, "agent-bin");
const imageBin = join(dir, "image-bin");
const home = join(dir, "home");
const config = join(dir, "agent.json");
const portFile = join(dir, "remote.port");
/** Another program on the job's first agent port: it accepts and hangs up at once. */
const squatter = createServer((socket) => socket.destroy());
let agentPort = 0;
let server: ChildProcess | undefined;
let serverLog = "";
let env: NodeJS.ProcessEnv = {};

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  await build({
    entryPoints: [join(import.meta.dirname, "../main.ts")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    banner: { js: "#!/usr/bin/env node" },
    define: { SRUN_DOCKER_VERSION: JSON.stringify("0.0.0-test") },
    logLevel: "warning",
  });
  chmodSync(bundle, 0o755);
  for (const path of [agentBin, imageBin, home]) mkdirSync(path);
  symlinkSync(bundle, join(agentBin, "ssh"));
  writeFileSync(join(imageBin, "ssh"), '#!/bin/sh\necho "the image\'s ssh: $*"\n');
  chmodSync(join(imageBin, "ssh"), 0o755);
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  const taken = (squatter.address() as { port: number }).port;
  agentPort = await freePort();
  const path = `${agentBin}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  writeFileSync(
    config,
    JSON.stringify({
      v: 3,
      jobKey: "77.0",
      user: userInfo().username,
      node: "node1",
      secret: "05".repeat(32),
      nodes: [{ name: "node1", address: "127.0.0.1" }],
      ports: [taken, agentPort],
      portFile,
      env: { PATH: path, HOME: home, SRUN_DOCKER_AGENT_CONFIG: config },
      listenHost: "127.0.0.1",
    }),
  );
  env = { PATH: path, SRUN_DOCKER_AGENT_CONFIG: config };
  server = spawn(process.execPath, [bundle, "agent-server"], { env, stdio: ["ignore", "ignore", "pipe"] });
  server.stderr?.on("data", (chunk: Buffer) => {
    serverLog += chunk.toString();
  });
  // The port file comes last: once it is there, the server listens.
  expect(await waitFor(() => readFileSync(portFile, { encoding: "utf8", flag: "a+" }).endsWith("\n"), 10_000)).toBe(
    true,
  );
}, 60_000);

afterAll(() => {
  server?.kill("SIGKILL");
  squatter.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `ssh ARGS` as a separate process: the bundle started under the name ssh. */
function ssh(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [join(agentBin, "ssh"), ...args], { env: { ...env, ...extraEnv } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stdout: () => stdout };
}

test("the server listens on the first of the job's ports it can bind, and says which", async () => {
  await waitFor(() => serverLog.includes("listening on port"));
  expect(serverLog).toContain(
    `[node1 agent] listening on port ${agentPort} (port 2 of 2: the ones before are taken)\n`,
  );
  expect(readFileSync(portFile, "utf8")).toBe(`${agentPort}\n`);
});

describe("ssh, the bundled binary (the job's first port held by another program)", () => {
  test("runs a command and passes its exit code on", async () => {
    expect(await ssh(["-x", "node1", "echo", "on $(pwd); exit 7"]).done).toEqual({
      code: 7,
      stdout: `on ${home}\n`,
      stderr: "",
    });
  });

  test("nested: a command on a node runs ssh itself (the job's PATH and config)", async () => {
    expect((await ssh(["node1", "ssh node1 echo nested"]).done).stdout).toBe("nested\n");
  });

  test("`srun-docker agent-ssh` is the same client", async () => {
    const child = spawn(process.execPath, [bundle, "agent-ssh", "node1", "exit 3"], { env });
    expect(await new Promise((resolve) => child.on("close", resolve))).toBe(3);
  });

  test("killed -9 mid-command: no process of the command is left on the server side", async () => {
    const pidFile = join(home, "pids-kill9");
    const command = [
      `sleep 100 & echo $! >> ${pidFile}`,
      `sleep 101 & echo $! >> ${pidFile}`,
      `(setsid sleep 102 & echo $! >> ${pidFile})`,
      `echo $$ >> ${pidFile}`,
      "echo ready; wait",
    ].join("; ");
    const client = ssh(["node1", command]);
    expect(await waitFor(() => client.stdout().includes("ready"))).toBe(true);
    const pids = readPids(pidFile);
    expect(pids).toHaveLength(4);
    expect(pids.every(isAlive)).toBe(true);
    client.child.kill("SIGKILL");
    expect(await waitFor(() => !pids.some(isAlive), 5000)).toBe(true);
  });

  test("SIGINT to the client is forwarded; the client ends with the remote's exit", async () => {
    const client = ssh(["node1", "trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.05; done"]);
    expect(await waitFor(() => client.stdout().includes("ready"))).toBe(true);
    client.child.kill("SIGINT");
    expect(await client.done).toEqual({ code: 42, stdout: "ready\ngot-int\n", stderr: "" });
  });

  test("another host: the image's own ssh gets the argv; without one, 255 and one line", async () => {
    const withImageSsh = { PATH: `${agentBin}:${imageBin}` };
    expect(await ssh(["-p", "22", "git@github.com", "git-upload-pack 'x'"], withImageSsh).done).toEqual({
      code: 0,
      stdout: "the image's ssh: -p 22 git@github.com git-upload-pack 'x'\n",
      stderr: "",
    });
    expect(await ssh(["github.com", "true"], { PATH: agentBin }).done).toEqual({
      code: 255,
      stdout: "",
      stderr: "srun-docker ssh: github.com is not a node of this job, and this image has no ssh client of its own\n",
    });
  });

  test("outside a job (no config): 255 and one line", async () => {
    expect(await ssh(["node1", "true"], { SRUN_DOCKER_AGENT_CONFIG: "" }).done).toEqual({
      code: 255,
      stdout: "",
      stderr: "srun-docker ssh: SRUN_DOCKER_AGENT_CONFIG is not set (this runs inside a job's container only)\n",
    });
  });

  test("latency of `ssh node1 true` as a process, and throughput of 100 MB (printed, not asserted)", async () => {
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const started = performance.now();
      await ssh(["node1", "true"]).done;
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const bare = performance.now();
    await new Promise((resolve) => spawn(process.execPath, ["-e", "0"]).on("close", resolve));
    const bareMs = performance.now() - bare;
    const child = spawn(process.execPath, [join(agentBin, "ssh"), "node1", "head -c 100000000 /dev/zero"], { env });
    let bytes = 0;
    const started = performance.now();
    child.stdout.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    await new Promise((resolve) => child.on("close", resolve));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `ssh node1 true, bundled client process: median ${times[7]?.toFixed(0)} ms, min ${times[0]?.toFixed(0)} ms (node -e 0 alone: ${bareMs.toFixed(0)} ms); ` +
        `100 MB through ssh node1 to a pipe: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s`,
    );
    expect(bytes).toBe(100_000_000);
  }, 60_000);

  test("the server ends on SIGTERM, killing what its sessions started, with exit 0", async () => {
    const pidFile = join(home, "pids-term");
    const client = ssh(["node1", `sleep 100 & echo $! >> ${pidFile}; echo ready; wait`]);
    expect(await waitFor(() => client.stdout().includes("ready"))).toBe(true);
    const exited = new Promise((resolve) => server?.on("close", resolve));
    server?.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(readPids(pidFile).some(isAlive)).toBe(false);
    expect((await client.done).code).toBe(255);
  });
});
