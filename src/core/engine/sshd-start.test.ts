// sshd's start (sshd-start.ts) run for real: this machine's sshd, a temporary switch dir, and
// other programs on the job's first ports, one of them on IPv4 only.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { renderSshdConfig } from "../ssh/index.js";
import { REMOTE_PORT_FILE } from "./dead-man-switch.js";
import { buildSshdStart } from "./sshd-start.js";

const SSHD = "/usr/sbin/sshd";
let dir: string;
let config: string;
const started: ChildProcess[] = [];
const held: Server[] = [];

beforeAll(() => {
  expect(existsSync(SSHD), "the start runs the real sshd: run scripts/setup-host.sh").toBe(true);
  dir = mkdtempSync(path.join(tmpdir(), "sshd-start-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  config = path.join(dir, "sshd_config");
  writeFileSync(
    config,
    renderSshdConfig({
      hostKeyPath: path.join(dir, "host_key"),
      authorizedKeysPath: path.join(dir, "authorized_keys"),
      user: userInfo().username,
    }),
  );
});

afterEach(async () => {
  // The sh and its sshd, by the group the sh leads (it was started detached).
  for (const child of started.splice(0)) if (child.exitCode === null && child.pid) process.kill(-child.pid, "SIGKILL");
  for (const server of held.splice(0)) await new Promise((resolve) => server.close(resolve));
  rmSync(path.join(dir, REMOTE_PORT_FILE), { force: true });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Another program listening on `host` (Node's default: every address, IPv6 and IPv4). */
async function hold(host?: string): Promise<number> {
  const server = createServer((socket) => socket.destroy());
  held.push(server);
  await new Promise<void>((resolve) => server.listen({ port: 0, ...(host ? { host } : {}) }, resolve));
  return (server.address() as { port: number }).port;
}

async function freePort(): Promise<number> {
  const port = await hold();
  await new Promise((resolve) => held.pop()?.close(resolve));
  return port;
}

function start(ports: number[]) {
  const [file = "", ...args] = buildSshdStart(config, ports, { sshd: SSHD, switchDir: dir });
  const child = spawn(file, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  started.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { exited, stderr: () => stderr };
}

async function reported(timeoutMs = 5000): Promise<string> {
  const file = path.join(dir, REMOTE_PORT_FILE);
  for (const until = Date.now() + timeoutMs; Date.now() < until; await new Promise((r) => setTimeout(r, 20)))
    if (existsSync(file)) return readFileSync(file, "utf8");
  return "";
}

function banner(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().split("\r\n")[0] ?? "");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

test("sshd listens on the first port it can bind, the ones before held (one for IPv4 only), and says which once it does", async () => {
  const ports = [await hold("0.0.0.0"), await hold(), await freePort(), await freePort()];
  const sshd = start(ports);
  expect(await reported()).toBe(`${ports[2]}\n`);
  expect(await banner(ports[2] ?? 0)).toMatch(/^SSH-2\.0-OpenSSH/);
  expect(readFileSync(path.join(dir, "sshd.pid"), "utf8")).toMatch(/^\d+\n$/);
  // Still running: it is the container's main process.
  expect(await Promise.race([sshd.exited, new Promise((r) => setTimeout(() => r("running"), 200))])).toBe("running");
});

test("every port held: it exits, its last words naming the ports it tried, and says no port", async () => {
  const ports = [await hold("0.0.0.0"), await hold()];
  const sshd = start(ports);
  expect(await sshd.exited).toBe(255);
  expect(sshd.stderr().trim().split("\n").at(-1)).toBe(
    `srun-docker: sshd could not listen on any of its ports (${ports.join(" ")})`,
  );
  expect(existsSync(path.join(dir, REMOTE_PORT_FILE))).toBe(false);
});

test("a failure that is not the port's (no sshd) ends the start at once, in the shell's own words", async () => {
  const [file = "", ...args] = buildSshdStart(config, [await freePort(), await freePort()], {
    sshd: path.join(dir, "no-sshd-here"),
    switchDir: dir,
  });
  const child = spawn(file, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  started.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  expect(await new Promise((resolve) => child.on("exit", resolve))).toBe(127);
  expect(stderr.trim()).toMatch(/^srun-docker-sshd: \d+: .*no-sshd-here: not found$/);
});

test("a bad config ends the start at once, sshd's own words last", async () => {
  const bad = path.join(dir, "bad_config");
  writeFileSync(bad, "NoSuchOption yes\n");
  const [file = "", ...args] = buildSshdStart(bad, [await freePort(), await freePort()], {
    sshd: SSHD,
    switchDir: dir,
  });
  const child = spawn(file, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  started.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  expect(await new Promise((resolve) => child.on("exit", resolve))).toBe(255);
  // Tried once: the second port was not.
  expect(stderr.trim().split("\n").at(-1)).toMatch(/Bad configuration option: NoSuchOption|bad_config: terminating/);
  expect(stderr).not.toContain("could not listen");
});
