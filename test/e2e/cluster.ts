// Handles on the multi-node test cluster (test/cluster/cluster.sh) for end-to-end tests:
// run commands as a cluster user through `su -`, look inside nodes, count leftovers.
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export const REPO = path.resolve(import.meta.dirname, "../..");
export const CLUSTER_SH = path.join(REPO, "test/cluster/cluster.sh");
export const STATE = process.env.SDTC_STATE ?? "/var/lib/srun-docker-testcluster";
export const IMAGE = process.env.SDTC_IMAGE ?? "srun-docker-test:latest";
/** The base image without sshd or an ssh client (test/cluster/lib.sh), as most images are. */
export const NOSSH_IMAGE = process.env.SDTC_NOSSH_IMAGE ?? "srun-docker-test-nossh:latest";
/** The same + Debian's python3-torch (CPU), for the PyTorch DDP example. */
export const TORCH_IMAGE = process.env.SDTC_TORCH_IMAGE ?? "srun-docker-test-torch:latest";
/** The torch image without sshd or an ssh client. */
export const TORCH_NOSSH_IMAGE = process.env.SDTC_TORCH_NOSSH_IMAGE ?? "srun-docker-test-torch-nossh:latest";
export const ALICE_UID = 1001;
export const BOB_UID = 1002;
/** More users of the test cluster, so suites (bench, examples, podman, registry) never share a user. */
export const USERS = { alice: 1001, bob: 1002, carol: 1003, dave: 1004, erin: 1005, frank: 1006 } as const;

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command with a hard deadline; never throws for a non-zero exit. */
export function run(file: string, args: string[], timeoutMs = 120_000, input?: string): Promise<CommandResult> {
  return start(file, args, timeoutMs, input).result;
}

/** A login shell of a cluster user on the head (login) node, as a user would type it. */
export function runAs(user: string, script: string, timeoutMs = 120_000): Promise<CommandResult> {
  return run("su", ["-", user, "-c", script], timeoutMs);
}

export function clusterSize(): number {
  const file = path.join(STATE, "run/size");
  return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
}

/** The slurm.conf profile the cluster runs: `default` (Epilog) or `strict` (none, KillWait=5). */
export function clusterProfile(): string {
  const file = path.join(STATE, "run/profile");
  return existsSync(file) ? readFileSync(file, "utf8").trim() : "default";
}

/** Runs a command inside node K's namespaces, as root. */
export function inNode(k: number, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  return run("bash", [CLUSTER_SH, "exec", String(k), ...args], timeoutMs);
}

export async function nodeContainers(k: number, filter = "label=srun-docker"): Promise<string[]> {
  const r = await inNode(k, ["docker", "ps", "-a", "--filter", filter, "--format", "{{.Names}}"]);
  if (r.code !== 0) throw new Error(`node${k}: docker ps failed: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}

/** Live processes of `uid` inside node K's network namespace: sshd, srun-docker, job steps. */
export async function nodeUserProcesses(k: number, uid: number): Promise<string[]> {
  const r = await run("ip", ["netns", "pids", `sdtc-node${k}`]);
  const found: string[] = [];
  for (const pid of r.stdout.split(/\s+/).filter(Boolean)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const state = /^State:\s+(\S)/m.exec(status)?.[1];
      const owner = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (owner !== uid || state === "Z") continue;
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      found.push(`${pid} ${args}`);
    } catch {
      // The process ended while we looked: not a leftover.
    }
  }
  return found;
}

export interface Leftovers {
  containers: string[];
  processes: string[];
}

/** Everything srun-docker may have left on the first `n` nodes: containers and user processes. */
export async function leftovers(n: number, uid = ALICE_UID): Promise<Leftovers> {
  return leftoversOn(
    Array.from({ length: n }, (_, i) => i + 1),
    uid,
  );
}

/** The same, on the given node indexes. */
export async function leftoversOn(nodes: readonly number[], uid = ALICE_UID): Promise<Leftovers> {
  // Every node at once: a sweep then takes one node's look (about 0.1 s), not the sum of them,
  // so a teardown time measured by repeated sweeps is not inflated by the looking itself.
  const perNode = await Promise.all(
    nodes.map(async (k) => ({
      containers: (await nodeContainers(k, `label=srun-docker.uid=${uid}`)).map((c) => `node${k}:${c}`),
      processes: (await nodeUserProcesses(k, uid)).map((p) => `node${k}:${p}`),
    })),
  );
  return {
    containers: perNode.flatMap((n) => n.containers),
    processes: perNode.flatMap((n) => n.processes),
  };
}

export interface Started {
  /** undefined when it could not be started (then `result` rejects). */
  pid: number | undefined;
  result: Promise<CommandResult>;
  kill(signal: NodeJS.Signals): void;
  /** What it printed on stdout so far. */
  output(): string;
  /** What it printed on stderr so far. */
  stderr(): string;
}

/** Starts a command with a hard deadline, without waiting for it. */
function start(file: string, args: string[], timeoutMs: number, input?: string): Started {
  const started = Date.now();
  const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const result = new Promise<CommandResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  child.stdin.on("error", () => {});
  child.stdin.end(input ?? "");
  return { pid: child.pid, result, kill: (signal) => child.kill(signal), output: () => stdout, stderr: () => stderr };
}

/** Starts `su - user -c script` without waiting for it. */
export function startAs(user: string, script: string, timeoutMs = 180_000): Started {
  return start("su", ["-", user, "-c", script], timeoutMs);
}

/** Polls `check` until it returns a value other than undefined/false, or throws at the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Pids of `uid`'s processes in node K whose command line matches `pattern`. */
export async function findNodeProcesses(k: number, uid: number, pattern: RegExp): Promise<number[]> {
  return (await nodeUserProcesses(k, uid)).filter((p) => pattern.test(p)).map((p) => Number(p.split(" ")[0]));
}

/** Pids of `uid`'s processes on the head node (host namespace) matching `pattern`, e.g. srun. */
export async function findHeadProcesses(uid: number, pattern: RegExp): Promise<number[]> {
  const r = await run("ps", ["-u", String(uid), "-o", "pid=,args="]);
  return r.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && pattern.test(m[2] ?? ""))
    .map((m) => Number(m[1]));
}

/** Node indexes (1-based) of a Slurm job's nodes, from squeue. */
export async function jobNodes(jobId: string): Promise<number[]> {
  const r = await run("squeue", ["-h", "-j", jobId, "-o", "%N"]);
  const expr = r.stdout.trim();
  if (!expr) return [];
  const names = await run("scontrol", ["show", "hostnames", expr]);
  return names.stdout
    .split("\n")
    .filter(Boolean)
    .map((n) => Number(n.replace(/^node/, "")));
}

/** Cancels every job of `user` and waits until the given nodes hold nothing of theirs. */
export async function cancelAllJobs(user: string, uid: number, nodes: readonly number[]): Promise<void> {
  await run("scancel", ["-u", user]);
  await waitFor(
    "the user's jobs to end",
    async () => (await run("squeue", ["-h", "-u", user])).stdout.trim() === "",
    60_000,
    250,
  );
  // A cancelled run removes its containers itself (the strict profile has no Epilog).
  await waitFor(
    "the nodes to be clean",
    async () => {
      const left = await leftoversOn(nodes, uid);
      return left.containers.length === 0 && left.processes.length === 0;
    },
    30_000,
    250,
  );
}

/** A line for the closing note's table: `FIGURE | case | figure`. */
export function figure(name: string, value: string): void {
  console.log(`FIGURE | ${name} | ${value}`);
}

// The test cluster's registries (test/cluster/registry.sh): two docker-registry processes on
// the head over TLS with the cluster's own CA, `open` (anonymous) and `private` (htpasswd on
// everything). Nodes resolve `name` and trust the CA (Docker and rootless Podman); nodes never
// pull the test images at `up`, so a test that wants a pull removes its image from a node.

export type RegistryKind = "open" | "private";

export interface RegistryImages {
  /** IMAGE as pushed at `up`, e.g. sdtc-registry:5443/srun-docker-test:1. */
  base: string;
  /** NOSSH_IMAGE as pushed at `up`. */
  nossh: string;
}

export interface RegistryInfo {
  /** The name nodes and the head resolve: sdtc-registry. */
  name: string;
  /** Its address on the cluster's bridge. */
  address: string;
  /** The CA's certificate (PEM), readable by every user. */
  ca: string;
  open: { host: string; accessLog: string; images: RegistryImages };
  private: { host: string; accessLog: string; user: string; password: string; images: RegistryImages };
}

/** Addresses, credentials and log paths, as `cluster.sh up` wrote them (root's only). */
export function registry(): RegistryInfo {
  const file = path.join(STATE, "registry/registry.json");
  if (!existsSync(file)) throw new Error(`${file} is missing: bring the cluster up (cluster.sh up N)`);
  return JSON.parse(readFileSync(file, "utf8")) as RegistryInfo;
}

async function registryCommand(action: "stop" | "start", kind?: RegistryKind): Promise<void> {
  const r = await run("bash", [CLUSTER_SH, "registry", action, ...(kind ? [kind] : [])]);
  if (r.code !== 0) throw new Error(`cluster.sh registry ${action} ${kind ?? ""} failed: ${r.stderr}`);
}

/** Takes both registries, or the one named, away: connections are refused until started again. */
export function stopRegistry(kind?: RegistryKind): Promise<void> {
  return registryCommand("stop", kind);
}

/** Brings them back (same storage, certificate and password); returns once they answer over TLS. */
export function startRegistry(kind?: RegistryKind): Promise<void> {
  return registryCommand("start", kind);
}

/**
 * One request in a registry's access log (Apache combined format). The log names no user (its
 * user field is always "-"); the registry's own log beside it (registry.log) has
 * auth.user.name for the private one.
 */
export interface RegistryRequest {
  /** The client's address: 10.213.0.K for node K, 10.213.0.254 for the head. */
  remote: string;
  method: string;
  /** e.g. /v2/srun-docker-test/blobs/sha256:… */
  path: string;
  status: number;
  userAgent: string;
}

// host ident user [time] "METHOD URI PROTO" status bytes "referer" "user agent"; quotes inside
// a quoted field come escaped (\").
const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const ACCESS_LINE = new RegExp(
  String.raw`^(\S+) \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \S+ ${QUOTED} ${QUOTED}$`,
);

/** Where the access log ends now: pass it to `registryRequests` to see only later requests. */
export function accessLogMark(kind: RegistryKind): number {
  const file = registry()[kind].accessLog;
  return existsSync(file) ? statSync(file).size : 0;
}

/** The requests logged since `mark` (a byte offset from `accessLogMark`), oldest first. */
export function registryRequests(kind: RegistryKind, mark = 0): RegistryRequest[] {
  const text = readFileSync(registry()[kind].accessLog).subarray(mark).toString("utf8");
  const requests: RegistryRequest[] = [];
  for (const line of text.split("\n").filter(Boolean)) {
    const m = ACCESS_LINE.exec(line);
    if (!m) throw new Error(`${kind} registry access log: a line not in combined format: ${line}`);
    const [, remote = "", method = "", url = "", status = "0", , userAgent = ""] = m;
    requests.push({ remote, method, path: url, status: Number(status), userAgent });
  }
  return requests;
}

/** Successful fetches (GET, 200) of blob `digest` (sha256:…) of repository `repo` since `mark`. */
export function blobFetches(kind: RegistryKind, repo: string, digest: string, mark = 0): RegistryRequest[] {
  return registryRequests(kind, mark).filter(
    (r) => r.method === "GET" && r.status === 200 && r.path === `/v2/${repo}/blobs/${digest}`,
  );
}
