// One node of a test job, for runJob's tests: RunDeps around a fake engine that records what it
// is asked in a log every node of the job shares, so tests can check the order across nodes.
// Its `run` starts a fake sshd (a banner) as the real start does (core/engine/sshd-start.ts): on the
// first of the plan's ports it can take, saying which in the switch dir; removing the container
// ends the job script in it, as with a real engine.
import { EventEmitter } from "node:events";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RunOptions } from "../../cli/options.js";
import { buildDockerExecArgs, DEFAULT_SHAPE } from "../../core/engine/index.js";
import { DEFAULT_PULL_OPTIONS } from "../../core/image/index.js";
import type { Identity } from "../../io/files/index.js";
import { isPortFree } from "../../io/ports/index.js";
import type { ExitInfo } from "../../io/process/index.js";
import { type FakeImageBehaviour, type FakeImageEngine, fakeImageEngine } from "./fake-image-engine.test-support.js";
import { startFakeSshd } from "./fake-sshd.test-support.js";

export { IMAGE_ID } from "./fake-image-engine.test-support.js";

import type { RunDeps, RunRuntime } from "./run-deps.js";

export interface TestJob {
  readonly cwd: string;
  readonly materialDir: string;
  /** `node: what`, in the order it happened on any node. */
  readonly events: string[];
  cleanUp(): void;
}

export function makeTestJob(): TestJob {
  const dir = mkdtempSync(path.join(tmpdir(), "run-job-"));
  writeFileSync(path.join(dir, "job.sh"), "#!/bin/sh\n");
  chmodSync(path.join(dir, "job.sh"), 0o755);
  return {
    cwd: dir,
    materialDir: path.join(dir, ".srun-docker"),
    events: [],
    cleanUp: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export function testOptions(overrides: Partial<RunOptions> = {}): RunOptions {
  return {
    container: "img:1",
    containerName: undefined,
    containerSave: undefined,
    dockname: undefined,
    datamnts: [],
    dockopts: [],
    privileged: false,
    ibdevices: false,
    envlist: [],
    gpus: { kind: "auto" },
    gpuRuntime: "docker",
    runtime: "docker",
    memlock: { kind: "unlimited" },
    shmSize: "1g",
    limits: "slurm",
    pidsLimit: { kind: "default" },
    dryRun: false,
    debug: false,
    script: "./job.sh",
    scriptArgs: [],
    slotsPerNode: undefined,
    nodelist: ["localhost"],
    nodeRank: 0,
    sshconfigdir: undefined,
    sshdPort: undefined,
    rendezvousPort: 0,
    scriptHelp: false,
    timeoutSeconds: 20,
    launcher: "ssh",
    program: undefined,
    remote: "sshd",
    pull: DEFAULT_PULL_OPTIONS,
    shape: DEFAULT_SHAPE,
    sources: new Map(),
    warnings: [],
    ...overrides,
  };
}

const IDENTITY: Identity = {
  user: "alice",
  uid: 1001,
  gid: 1001,
  home: "/home/alice",
  groups: [],
  passwdLine: "alice:x:1001:1001::/home/alice:/bin/sh",
  groupLines: ["alice:x:1001:"],
};

export interface NodeBehaviour {
  /** The job script's exit code, after a moment; undefined: it runs until its container goes. */
  scriptExit?: number;
  /** How long the job script runs before it exits with scriptExit (default 20 ms). */
  scriptMs?: number;
  /** How long the engine takes to remove the container. */
  removeMs?: number;
  startError?: Error;
  /** What nvidia-smi counts. */
  gpus?: number;
  /** The engine says the kernel killed something in the container for memory. */
  outOfMemory?: boolean;
  /** Ports another user holds on this node (the others are probed for real). */
  takenPorts?: readonly number[];
  /** The environment srun-docker sees (SLURM_*, SRUN_DOCKER_JOB_ID). */
  env?: NodeJS.ProcessEnv;
  /** What its image engine has and does (default: it has the image). */
  image?: FakeImageBehaviour;
}

export interface FakeNode {
  readonly deps: RunDeps;
  /** argv of every `run` and `exec` the node asked for. */
  readonly runArgs: string[][];
  readonly execArgs: string[][];
  readonly exitCodes: number[];
  readonly stdout: string[];
  readonly stderr: string[];
  gpuQueries: number;
  /** Its image engine: what it pulled, loaded and saved. */
  readonly images: FakeImageEngine;
  signal(name: NodeJS.Signals): void;
}

export function fakeNode(job: TestJob, name: string, behaviour: NodeBehaviour = {}): FakeNode {
  const log = (what: string) => job.events.push(`${name}: ${what}`);
  const signals = new EventEmitter();
  const node: FakeNode = {
    runArgs: [],
    execArgs: [],
    exitCodes: [],
    stdout: [],
    stderr: [],
    gpuQueries: 0,
    images: fakeImageEngine(behaviour.image),
    signal: (signal) => signals.emit(signal),
    deps: {
      env: behaviour.env ?? {},
      cwd: job.cwd,
      hostname: name,
      signals,
      agentProgram: () => undefined,
      exit: (code) => {
        node.exitCodes.push(code);
        return undefined as never;
      },
      stdout: { write: (text) => node.stdout.push(text) },
      stderr: { write: (text) => node.stderr.push(text) },
      materialDir: job.materialDir,
      readIdentity: async () => IDENTITY,
      countGpus: async () => {
        node.gpuQueries++;
        return behaviour.gpus;
      },
      createImageEngine: () => node.images,
      readCpus: async () => ({ boundCpus: undefined, onlineCpus: 8, cgroupV2: false }),
      createRuntime: () => runtime,
      isPortFree: async (port) => !behaviour.takenPorts?.includes(port) && (await isPortFree(port)),
    },
  };
  const runtime = fakeRuntime(node, name, behaviour, log);
  return node;
}

/** The node's container, while it runs: its fake sshd, and what ends its script. */
interface FakeContainer {
  sshd?: Server | undefined;
  endScript?: ((exit: ExitInfo) => void) | undefined;
}

function fakeRuntime(node: FakeNode, name: string, behaviour: NodeBehaviour, log: (what: string) => void): RunRuntime {
  const container: FakeContainer = {};
  return {
    bin: "docker",
    node: name,
    inspectImage: async () => ({ id: "sha256:1", path: undefined }),
    saveContainer: async () => {},
    signalProcess: async () => {},
    exec: (plan) => {
      log("exec");
      node.execArgs.push(buildDockerExecArgs(plan));
      return { exit: scriptExit(container, behaviour, log) };
    },
    readImageFiles: async () => ({ passwd: "root:x:0:0::/root:/bin/sh\n", group: "root:x:0:\n" }),
    start: async (args) => {
      log("run");
      node.runArgs.push([...args]);
      if (behaviour.startError) throw behaviour.startError;
      const start = args.indexOf("srun-docker-sshd");
      if (start >= 0)
        container.sshd = await startFakeSshd(args.slice(start + 2).map(Number), args, behaviour.takenPorts);
      return "id";
    },
    remove: async (names) => {
      log(`remove ${names.join(",")}`);
      await new Promise((resolve) => setTimeout(resolve, behaviour.removeMs ?? 0));
      log("removed");
      container.sshd?.close();
      container.endScript?.({ code: 137, signal: null });
    },
    removeLateArrival: async () => {
      log("late arrival watched");
    },
    waitStopped: (_name, signal) => aborted(signal),
    lastLogLine: async () => "srun-docker: sshd could not listen on any of its ports",
    // It runs until removed (run-job-death.test.ts kills one).
    containerStates: () => ({ wait: (_name, signal) => aborted(signal), look: async () => ({ kind: "running" }) }),
    outOfMemory: async () => {
      log("asked about memory");
      return behaviour.outOfMemory ?? false;
    },
    // The node's fake engine (node.images), as the run reaches it through its deps.
    imageEngine: () => node.images,
    list: async () => [],
    releaseUserNamespace: async () => {},
    watchUserNamespace: () => {},
  };
}

/** The script's end: at `scriptExit` after `scriptMs` when the behaviour says, else when the container goes. */
function scriptExit(
  container: FakeContainer,
  behaviour: NodeBehaviour,
  log: (what: string) => void,
): Promise<ExitInfo> {
  const exit = new Promise<ExitInfo>((resolve) => {
    container.endScript = resolve;
  });
  const code = behaviour.scriptExit;
  if (code !== undefined) {
    setTimeout(() => {
      log(`script exit ${code}`);
      container.endScript?.({ code, signal: null });
    }, behaviour.scriptMs ?? 20);
  }
  return exit;
}

const aborted = (signal: AbortSignal) =>
  new Promise<undefined>((r) => signal.addEventListener("abort", () => r(undefined)));
