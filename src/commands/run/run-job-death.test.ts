// A container killed mid-job (the OOM killer, an admin's `docker kill`, a daemon restart), in
// whole two-node jobs with fake engines and a real rendezvous: the node whose container ended
// says so in one line, the other node is ended, every container is removed, and no node says 0.
import { afterEach, beforeEach, expect, test } from "vitest";
import { deferred, SaidElsewhere, UserError } from "../../core/common/index.js";
import type { ExitInfo } from "../../io/process/index.js";
import {
  type FakeNode,
  fakeNode,
  freePort,
  makeTestJob,
  type NodeBehaviour,
  type TestJob,
  testOptions,
} from "./fake-node.test-support.js";
import { runJob } from "./index.js";

let job: TestJob;
beforeEach(() => {
  job = makeTestJob();
});
afterEach(() => job.cleanUp());

type Outcome = { code: number } | { error: unknown };

/**
 * The node's container is killed `afterMs` after it started (`docker kill`): its exec ends with
 * 137 at once and, as with a real engine, the engine marks the container stopped a moment later.
 */
function killAfter(node: FakeNode, afterMs: number): void {
  const inner = node.deps.createRuntime;
  node.deps.createRuntime = (bin, name, log) => {
    const runtime = inner(bin, name, log);
    const execEnded = deferred<ExitInfo>();
    const stopped = deferred<{ kind: "exited"; code: number }>();
    let dead: { kind: "exited"; code: number } | undefined;
    const kill = () => {
      job.events.push(`${node.deps.hostname}: container killed`);
      execEnded.resolve({ code: 137, signal: null });
      setTimeout(() => {
        dead = { kind: "exited", code: 137 };
        stopped.resolve(dead);
      }, 50);
    };
    return {
      ...runtime,
      start: async (args, signal) => {
        const id = await runtime.start(args, signal);
        setTimeout(kill, afterMs);
        return id;
      },
      exec: (plan) => ({ exit: Promise.race([runtime.exec(plan).exit, execEnded.promise]) }),
      containerStates: () => ({
        wait: (container, signal) => Promise.race([stopped.promise, runtime.containerStates().wait(container, signal)]),
        look: async () => dead ?? { kind: "running" },
      }),
    };
  };
}

/** A two-node job on this host: the master `localhost`, the worker `127.0.0.1` (its sshd answers there). */
async function twoNodeJob(launcher: "ssh" | "each", killed: "master" | "worker", master: NodeBehaviour = {}) {
  const shared = { launcher, nodelist: ["localhost", "127.0.0.1"], rendezvousPort: await freePort() } as const;
  const nodes = [fakeNode(job, "localhost", master), fakeNode(job, "worker")] as const;
  killAfter(nodes[killed === "master" ? 0 : 1], 400);
  const ports = [await freePort(), await freePort()];
  const t0 = Date.now();
  const runs = nodes.map((node, rank) =>
    runJob(testOptions({ ...shared, nodeRank: rank, sshdPort: ports[rank] }), node.deps).then(
      (code): Outcome => ({ code }),
      (error: unknown): Outcome => ({ error }),
    ),
  );
  const [m, w] = await Promise.all(runs);
  return { nodes, master: m, worker: w, ms: Date.now() - t0 };
}

/** What a node exits with, and the line it says (main prints a UserError; a SaidElsewhere is quiet). */
function said(outcome: Outcome | undefined): { code: number; line?: string } {
  if (outcome === undefined) throw new Error("no outcome");
  if ("code" in outcome) return { code: outcome.code };
  if (outcome.error instanceof UserError) return { code: outcome.error.exitCode, line: outcome.error.message };
  if (outcome.error instanceof SaidElsewhere) return { code: outcome.error.exitCode };
  throw outcome.error;
}

const KILLED = "the container exited during the job (137: killed; out of memory, or SIGKILL)";

test.each(["ssh", "each"] as const)(
  "%s: a worker's container killed mid-job ends the job, naming it",
  async (launcher) => {
    // The master's script would run for ever: only the kill can end this job.
    const { master, worker, ms } = await twoNodeJob(launcher, "worker");
    expect(said(worker)).toEqual({ code: 137, line: `127.0.0.1: ${KILLED}` });
    const fromMaster = said(master);
    expect(fromMaster.code).not.toBe(0);
    expect(fromMaster.line).toContain(`127.0.0.1 was lost during the job: reported failure: 127.0.0.1: ${KILLED}`);
    expect(job.events).toContain("worker: container killed");
    expect(job.events).toContain("localhost: removed");
    expect(job.events).toContain("worker: removed");
    expect(ms).toBeLessThan(5000);
  },
);

test.each(["ssh", "each"] as const)(
  "%s: the master's container killed mid-job ends the job, naming it",
  async (launcher) => {
    const { nodes, master, worker } = await twoNodeJob(launcher, "master");
    expect(said(master)).toEqual({ code: 137, line: `localhost: ${KILLED}` });
    expect(said(worker).code).toBe(1);
    expect(nodes[1].stderr.join("")).toContain(`the master ended the job: master localhost: localhost: ${KILLED}`);
    // One line from the node whose container ended: its script's exit is not said as a failure of its own.
    expect(nodes[0].stderr.join("")).not.toMatch(/script exited with 137/);
    expect(job.events).toContain("localhost: removed");
    expect(job.events).toContain("worker: removed");
  },
);

test("each: a worker's script ended by its container's end is not reported as the script's failure", async () => {
  const { nodes, worker } = await twoNodeJob("each", "worker");
  expect(said(worker).line).toBe(`127.0.0.1: ${KILLED}`);
  expect(nodes[0].stderr.join("")).not.toContain("127.0.0.1's script exited with 137");
});

test("the kill found for memory names the limit instead", async () => {
  const { master } = await twoNodeJob("ssh", "master", { outOfMemory: true, env: { SLURM_MEM_PER_NODE: "256" } });
  expect(said(master)).toEqual({
    code: 137,
    line: "localhost: the container exited during the job (137: killed for memory; limit 256 MiB from --mem)",
  });
});
