// Shared by the teardown suites (Docker and rootless Podman): wait for a job to really run,
// time until nothing of it is left, print the figure.

import { AGENT_BIN_DIR } from "../../src/core/agent/index.js";
import {
  figure,
  findNodeProcesses,
  jobNodes,
  type Leftovers,
  leftoversOn,
  nodeContainers,
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
 */
export async function nothingLeftOn(
  nodes: readonly number[],
  uid: number,
  t0: number,
  timeoutMs = 15_000,
  look: (nodes: readonly number[], uid: number) => Promise<Leftovers> = leftoversOn,
): Promise<number> {
  let last = "";
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
  }
  return Date.now() - t0;
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
