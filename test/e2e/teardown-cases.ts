// Shared by the teardown suites (Docker and rootless Podman): wait for a job to really run,
// time until nothing of it is left, print the figure.

import { AGENT_BIN_DIR } from "../../src/core/agent/index.js";
import {
  figure,
  findNodeProcesses,
  inNode,
  jobNodes,
  type Leftovers,
  leftoversOn,
  nodeContainers,
  nodeUserProcesses,
  run,
  waitFor,
} from "./cluster.js";

export type CaseTimes = number[];

/** The newest running job of `user` with a container on each of its `n` nodes and `pattern` running on each. */
export async function runningJob(
  user: string,
  uid: number,
  n: number,
  pattern: RegExp,
  containers = nodeContainers,
): Promise<{ id: string; nodes: number[] }> {
  return waitFor(
    `a running job of ${user} with ${n} containers`,
    async () => {
      const r = await run("squeue", ["-h", "-u", user, "-t", "R", "-o", "%A", "--sort=-i"]);
      const id = r.stdout.split("\n")[0]?.trim();
      if (!id) return undefined;
      const nodes = await jobNodes(id);
      if (nodes.length !== n) return undefined;
      for (const k of nodes) {
        if ((await containers(k, `label=srun-docker.job=${id}`)).length === 0) return undefined;
        // The job's processes run on every node: the job is really running, not starting.
        if ((await findNodeProcesses(k, uid, pattern)).length === 0) return undefined;
      }
      return { id, nodes };
    },
    90_000,
    200,
  );
}

/**
 * The node's own srun-docker (the Slurm task), not the agent server or `srun-docker ssh` that run
 * as the same user inside its container from the mounted copy: killing one of those is a
 * different fault (the agent's connection is lost, not the node).
 */
const NODE_SRUN_DOCKER = new RegExp(`^\\d+ (?!${AGENT_BIN_DIR}/)\\S*bin/srun-docker `);

/** SIGKILL to `uid`'s srun-docker on node K, by its pid (never a placeholder); the kill time. */
export async function killSrunDocker(k: number, uid: number): Promise<number> {
  const [pid] = await findNodeProcesses(k, uid, NODE_SRUN_DOCKER);
  if (pid === undefined || pid <= 1) throw new Error(`node${k}'s srun-docker was not found`);
  const t0 = Date.now();
  process.kill(pid, "SIGKILL");
  return t0;
}

/**
 * Milliseconds from `t0` until the nodes hold no container (any state) and no process of
 * `uid`; throws with what is left after `timeoutMs`.
 *
 * The sweeps prove that nothing is left, but they cannot time it: `docker ps` waits while the
 * daemon removes a container, so a sweep that starts during a teardown answers up to a second
 * after the container is gone. The moment is therefore taken from what does not wait: the
 * processes from /proc, polled on their own, and each container's `destroy` event in its
 * daemon's log. A `look` other than Docker's (Podman's reads its store's files, which never
 * wait) is timed by its sweeps.
 */
export async function nothingLeftOn(
  nodes: readonly number[],
  uid: number,
  t0: number,
  timeoutMs = 15_000,
  look: (nodes: readonly number[], uid: number) => Promise<Leftovers> = leftoversOn,
): Promise<number> {
  let last = "";
  let swept = false;
  const processesGone = processesGoneAt(nodes, uid, () => swept);
  try {
    await waitFor(
      `nothing left on nodes ${nodes.join(",")}`,
      async () => {
        const left = await look(nodes, uid);
        last = [...left.containers, ...left.processes].join("\n");
        return last === "";
      },
      timeoutMs,
      50,
    );
  } catch (error) {
    throw new Error(`${String(error)}; left:\n${last}`);
  } finally {
    swept = true;
  }
  const sweptAt = Date.now();
  if (look !== leftoversOn) return sweptAt - t0;
  return Math.max(await processesGone, await lastDestroyed(nodes, uid, t0)) - t0;
}

/**
 * When the nodes last turned empty of `uid`'s processes, polled until `stop()`: a process that
 * shows up after the blow (a start-up under way) counts, so this is the first empty look after
 * the last one that found any.
 */
async function processesGoneAt(nodes: readonly number[], uid: number, stop: () => boolean): Promise<number> {
  let goneAt: number | undefined;
  while (!stop()) {
    const at = Date.now();
    const left = await Promise.all(nodes.map((k) => nodeUserProcesses(k, uid)));
    if (left.some((p) => p.length > 0)) goneAt = undefined;
    else goneAt ??= at;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return goneAt ?? Date.now();
}

/** When the last of `uid`'s containers on the nodes was destroyed since `sinceMs`, by its daemon's clock. */
async function lastDestroyed(nodes: readonly number[], uid: number, sinceMs: number): Promise<number> {
  const filters = ["type=container", "event=destroy", `label=srun-docker.uid=${uid}`];
  const times = await Promise.all(nodes.map((k) => daemonEventTimes(k, sinceMs, filters)));
  return Math.max(sinceMs, ...times.flat());
}

/** Milliseconds since the epoch of node K's daemon events since `sinceMs` that pass `filters` (`docker events --filter`). */
export async function daemonEventTimes(k: number, sinceMs: number, filters: readonly string[]): Promise<number[]> {
  const r = await inNode(k, [
    "docker",
    "events",
    ...["--since", (sinceMs / 1000).toFixed(3), "--until", (Date.now() / 1000).toFixed(3)],
    ...filters.flatMap((f) => ["--filter", f]),
    ...["--format", "{{.TimeNano}}"],
  ]);
  if (r.code !== 0) throw new Error(`node${k}: docker events failed: ${r.stderr}`);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((ns) => Number(BigInt(ns) / 1_000_000n));
}

/** `FIGURE | case | min / median / max s over N runs`. */
export function reportCase(name: string, times: CaseTimes): void {
  const sorted = [...times].sort((a, b) => a - b);
  const s = (ms: number | undefined) => ((ms ?? Number.NaN) / 1000).toFixed(2);
  const median =
    sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]
      : ((sorted[sorted.length / 2 - 1] ?? 0) + (sorted[sorted.length / 2] ?? 0)) / 2;
  figure(
    `teardown: ${name}`,
    `nothing left after ${s(sorted[0])} / ${s(median)} / ${s(sorted.at(-1))} s (min/median/max of ${times.length} runs), leftovers 0`,
  );
}
