// SIGUSR1 and SIGUSR2, as Slurm sends them to a step (`--signal=USR1@T`, `scancel --signal`),
// sent to the processes that `npm run build` ships: they must neither open Node's inspector
// (127.0.0.1:9229, or any other listener) nor end the process. The agent server is the
// long-lived process every container runs; the agent's `ssh` is the one mpirun starts by the
// hundred, here kept waiting on a port where nothing listens.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { AGENT_CONFIG_VERSION } from "../../src/core/agent/index.js";

const root = path.resolve(import.meta.dirname, "../..");
const sea = path.join(root, "dist/srun-docker");
const bundle = path.join(root, "dist/srun-docker.cjs");
const INSPECTOR_PORT = 9229;

const work = mkdtempSync(path.join(tmpdir(), "srun-docker-signals-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function agentConfig(serverPort: number): Promise<string> {
  const file = path.join(work, `agent-${serverPort}.json`);
  const nodes = [
    { name: "n1", address: "127.0.0.1" },
    { name: "n2", address: "127.0.0.1" },
  ];
  const secret = randomBytes(32).toString("hex");
  // Every node's agent on the first of `ports` it can bind: n1's serves here, n2's never starts.
  const config = {
    v: AGENT_CONFIG_VERSION,
    jobKey: "7.0",
    user: "u",
    node: "n1",
    secret,
    nodes,
    ports: [serverPort],
  };
  writeFileSync(file, JSON.stringify(config), { mode: 0o600 });
  return file;
}

/** Every TCP port `pid` listens on, as another user's `ss -ltnp` shows them to root. */
function listeningPorts(pid: number): number[] {
  const lines = execFileSync("ss", ["-ltnpH"], { encoding: "utf8" }).split("\n");
  return lines
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => Number(/:(\d+)\s/.exec(line)?.[1]))
    .sort((a, b) => a - b);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function start(build: "sea" | "bundle", args: string[], config: string): ChildProcess {
  const [file, argv] = build === "sea" ? [sea, args] : [process.execPath, [bundle, ...args]];
  return spawn(file, argv, {
    env: { PATH: process.env.PATH, HOME: work, SRUN_DOCKER_AGENT_CONFIG: config },
    stdio: "ignore",
  });
}

async function signalAndLook(child: ChildProcess): Promise<{ alive: boolean; before: number[]; after: number[] }> {
  const pid = child.pid ?? -1;
  const before = listeningPorts(pid);
  for (const signal of ["SIGUSR1", "SIGUSR2", "SIGUSR1", "SIGUSR2"] as const) {
    child.kill(signal);
    await sleep(100);
  }
  // The inspector starts its listener from a thread of its own: give it time to show.
  await sleep(400);
  return { alive: child.exitCode === null && child.signalCode === null, before, after: listeningPorts(pid) };
}

describe.each(["sea", "bundle"] as const)("dist %s: SIGUSR1 and SIGUSR2", (build) => {
  test("the agent server keeps serving on its one port, with no inspector", async () => {
    const port = await freePort();
    const child = start(build, ["agent-server"], await agentConfig(port));
    try {
      await until("the agent server to listen", () => connects(port));
      const seen = await signalAndLook(child);
      expect(seen).toEqual({ alive: true, before: [port], after: [port] });
      expect(await connects(INSPECTOR_PORT)).toBe(false);
      expect(await connects(port)).toBe(true);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("the agent's ssh waiting for its agent opens nothing and goes on waiting", async () => {
    const config = await agentConfig(await freePort());
    const child = start(build, ["agent-ssh", "n2", "true"], config);
    try {
      // Its first statement has run once Node has read the bundle; the bundle's start is 0.1-0.3 s.
      await sleep(600);
      const seen = await signalAndLook(child);
      expect(seen).toEqual({ alive: true, before: [], after: [] });
      expect(await connects(INSPECTOR_PORT)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("dist/srun-docker (the single executable): SIGUSR1 from its very start", () => {
  // Node opens the inspector on a SIGUSR1 that comes before a script's first statement; the
  // single executable's own Node is told an inspector address that can never be bound
  // (scripts/sea-node.mjs), so no moment of its life is open. In the first milliseconds (before
  // Node's own start) the signal's default action still ends it, as it would any program: that
  // is no way in.
  test.each([0, 5, 10, 20, 40, 80])("a SIGUSR1 %i ms after the start opens no inspector", async (delayMs) => {
    const config = await agentConfig(await freePort());
    const child = start("sea", ["agent-ssh", "n2", "true"], config);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await sleep(delayMs);
      child.kill("SIGUSR1");
      await Promise.race([exited, sleep(700)]);
      expect(listeningPorts(child.pid ?? -1)).toEqual([]);
      expect(await connects(INSPECTOR_PORT)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("NODE_OPTIONS cannot turn the inspector on", async () => {
    const config = await agentConfig(await freePort());
    const child = spawn(sea, ["agent-ssh", "n2", "true"], {
      env: { PATH: process.env.PATH, HOME: work, SRUN_DOCKER_AGENT_CONFIG: config, NODE_OPTIONS: "--inspect" },
      stdio: "ignore",
    });
    try {
      await sleep(600);
      expect(listeningPorts(child.pid ?? -1)).toEqual([]);
      expect(await connects(INSPECTOR_PORT)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
