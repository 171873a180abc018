// One run of the scale bench at N nodes: a master process and `procs` worker processes, forked
// from the bundle of scale-entry.ts, then the phases in order: every worker joins and reports
// ready; one worker's socket is reset (the master must notice it lost that node); the master
// aborts (every other worker must be told). Every phase has a timeout; a run that misses one
// or sees a retry, a dropped connection or a wrong outcome lists it under `problems`.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";

/** What a real run uses: --timeout's default (120 s), a per-user 32-byte secret, a job step. */
const DEADLINE_MS = 120_000;
const PHASE_TIMEOUT_MS = 30_000;

/** A forked child whose messages can be awaited by type, in order. */
function spawnChild(entry, role, name, execArgv) {
  const child = fork(entry, [role], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const queued = new Map();
  const waiting = new Map();
  let gone;
  child.on("message", (message) => {
    const waiter = waiting.get(message.type)?.shift();
    if (waiter) waiter.resolve(message);
    else queued.set(message.type, [...(queued.get(message.type) ?? []), message]);
  });
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      gone = `${name} exited (${signal ?? code})`;
      for (const list of waiting.values()) for (const w of list.splice(0)) w.reject(new Error(gone));
      resolve();
    }),
  );
  return {
    child,
    exited,
    send: (message) => child.connected && child.send(message),
    next(type, timeoutMs = PHASE_TIMEOUT_MS) {
      const ready = queued.get(type)?.shift();
      if (ready) return Promise.resolve(ready);
      if (gone) return Promise.reject(new Error(gone));
      return new Promise((resolve, reject) => {
        const list = waiting.get(type) ?? [];
        waiting.set(type, list);
        const waiter = {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        const timer = setTimeout(() => {
          list.splice(list.indexOf(waiter), 1);
          reject(new Error(`${name}: no "${type}" within ${timeoutMs} ms`));
        }, timeoutMs);
        list.push(waiter);
      });
    },
  };
}

/** Ranks 1..n dealt into `procs` contiguous slices. */
function slices(n, procs) {
  const size = Math.ceil(n / procs);
  const out = [];
  for (let start = 1; start <= n; start += size) {
    out.push(Array.from({ length: Math.min(size, n - start + 1) }, (_, i) => start + i));
  }
  return out;
}

const MiB = 1024 * 1024;

export async function runOnce({ entry, nodes: n, procs, profileDir }) {
  const job = {
    secretHex: randomBytes(32).toString("hex"),
    jobKey: "4242.0",
    nodes: Array.from({ length: n }, (_, i) => `nid${String(i + 1).padStart(5, "0")}`),
    deadlineMs: DEADLINE_MS,
  };
  const profile = (role) => (profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}/${role}`] : []);
  const master = spawnChild(entry, "master", "master", profile("master"));
  const fleets = [];
  const problems = [];
  try {
    master.send({ type: "config", job });
    const listening = await master.next("listening");
    for (const [i, ranks] of slices(n, procs).entries()) {
      const fleet = spawnChild(entry, "workers", `workers#${i}`, profile("workers"));
      fleet.send({ type: "config", job, port: listening.port, ranks });
      fleets.push(fleet);
    }
    await Promise.all(fleets.map((f) => f.next("armed")));
    for (const fleet of fleets) fleet.send({ type: "start" });
    const gathered = await gather(master, fleets, listening, problems);
    const ended = await loseOneThenAbort(master, fleets, job, problems);
    return { nodes: n, procs: fleets.length, ...figures(n, gathered, ended), problems };
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
    return { nodes: n, procs, problems };
  } finally {
    await shutdown([master, ...fleets]);
  }
}

/** Every node joins and the master says ready: what each side saw. */
async function gather(master, fleets, listening, problems) {
  const ready = await master.next("ready", DEADLINE_MS + 10_000);
  const fds = readdirSync(`/proc/${listening.pid}/fd`).length;
  if (!ready.ok) problems.push(`ready failed: ${ready.failure}`);
  const joined = await Promise.all(fleets.map((f) => f.next("joined", DEADLINE_MS + 10_000)));
  const retries = joined.reduce((sum, j) => sum + j.attemptFailures, 0);
  if (retries > 0) problems.push(`${retries} join attempts failed and were retried`);
  for (const j of joined) problems.push(...j.failures);
  if (ready.dropped > 0) problems.push(`the master dropped ${ready.dropped} connections`);
  return { ready, joined, fds, retries };
}

/** One node's link dies abruptly (a reset, as when its host drops it): the master must say so; then it aborts the rest. */
async function loseOneThenAbort(master, fleets, job, problems) {
  const n = job.nodes.length;
  const victim = fleets.at(-1);
  victim.send({ type: "kill", node: job.nodes.at(-1) });
  const killed = await victim.next("killed");
  const lost = await master.next("lost");
  master.send({ type: "abort" });
  const aborted = await master.next("aborted");
  const settled = await Promise.all(fleets.map((f) => f.next("settled")));
  const kinds = {};
  for (const s of settled) for (const [k, v] of Object.entries(s.kinds)) kinds[k] = (kinds[k] ?? 0) + v;
  if (kinds.abort !== n - 1 || kinds.lost !== 1) {
    problems.push(`outcomes ${JSON.stringify(kinds)}, expected ${n - 1} abort and 1 lost`);
    for (const s of settled) problems.push(...s.examples);
  }
  const lastAbortAt = Math.max(...settled.map((s) => s.lastAbortAt ?? Number.NaN));
  return { killed, lost, aborted, lastAbortAt };
}

function figures(n, { ready, joined, fds, retries }, { killed, lost, aborted, lastAbortAt }) {
  return {
    allReadyMs: ready.firstHelloToReadyMs,
    helloSpreadMs: ready.firstToLastHelloMs,
    abortDeliveredMs: lastAbortAt - aborted.at,
    abortClosedMs: aborted.closedMs,
    lostDetectedMs: lost.at - killed.at,
    masterCpuGatherSeconds: ready.cpuGatherSeconds,
    masterCpuSeconds: aborted.cpuTotalSeconds,
    workersCpuJoinSeconds: joined.reduce((sum, j) => sum + j.cpuSeconds, 0),
    rssReadyMiB: ready.rssReadyBytes / MiB,
    rssPerWorkerKiB: (ready.rssReadyBytes - ready.rssBaselineBytes) / 1024 / n,
    heapUsedReadyMiB: ready.heapUsedReadyBytes / MiB,
    maxRssMiB: aborted.maxRssBytes / MiB,
    fds,
    retries,
  };
}

/** Asks every child to exit; SIGKILL for any still there after 10 s. */
async function shutdown(children) {
  for (const c of children) c.send({ type: "exit" });
  let timer;
  await Promise.race([
    Promise.all(children.map((c) => c.exited)),
    new Promise((resolve) => {
      timer = setTimeout(resolve, 10_000);
    }),
  ]);
  clearTimeout(timer);
  for (const c of children) if (c.child.exitCode === null) c.child.kill("SIGKILL");
}
