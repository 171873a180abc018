// runJob end to end on one machine: fake engines, a real rendezvous on this host. Each test
// checks what the nodes asked their engines for, and in which order.
import { afterEach, beforeEach, expect, test } from "vitest";
import { SaidElsewhere } from "../../core/common/index.js";
import { type FakeNode, fakeNode, freePort, makeTestJob, type TestJob, testOptions } from "./fake-node.test-support.js";
import { runJob } from "./index.js";

let job: TestJob;
beforeEach(() => {
  job = makeTestJob();
});
afterEach(() => job.cleanUp());

const until = async (done: () => boolean) => {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
};

/** The container name a node's engine was asked to run. */
const nameOf = (node: FakeNode) => node.runArgs[0]?.[node.runArgs[0].indexOf("--name") + 1];

test("master (ssh): starts the container, waits for its sshd, runs the script, removes the container", async () => {
  const node = fakeNode(job, "node1", { scriptExit: 3 });
  const sshdPort = await freePort();
  const code = await runJob(testOptions({ nodelist: ["node1"], sshdPort }), node.deps);
  expect(code).toBe(3);
  const name = nameOf(node);
  expect(name).toMatch(/^srun-docker-alice-local-[0-9a-f]{8}\.0-node1$/);
  expect(job.events).toEqual([
    "node1: run",
    "node1: exec",
    "node1: script exit 3",
    "node1: asked about memory",
    `node1: remove ${name}`,
    "node1: removed",
  ]);
  // The port given is sshd's one port: its start tries nothing else.
  expect(node.runArgs[0]?.slice(-3)).toEqual([
    "srun-docker-sshd",
    expect.stringMatching(/\/node1\/sshd_config$/),
    String(sshdPort),
  ]);
  expect(node.execArgs[0]?.slice(-6)).toEqual([
    name,
    "/bin/sh",
    "-c",
    'echo $$ >"$0" && exec "$@"',
    "/run/srun-docker/script.pid",
    `${job.cwd}/job.sh`,
  ]);
  expect(node.stderr.at(-1)).toMatch(/^\[node1 master\] prepare .*; exit 3\n$/);
});

test("a container that cannot start is still removed, and the run fails with the engine's words", async () => {
  const boom = new Error("cannot start the container on node1: no space left on device");
  const node = fakeNode(job, "node1", { startError: boom });
  await expect(runJob(testOptions({ nodelist: ["node1"], sshdPort: await freePort() }), node.deps)).rejects.toBe(boom);
  expect(job.events).toEqual(["node1: run", `node1: remove ${nameOf(node)}`, "node1: removed"]);
});

/**
 * A two-node `each` job: the master `localhost`, node2 a worker joining it there. No
 * --node-rank: each node finds its rank by its host name, as under Slurm with --nodelist.
 */
async function eachJob(master: Parameters<typeof fakeNode>[2], worker: Parameters<typeof fakeNode>[2]) {
  const options = { launcher: "each", nodelist: ["localhost", "node2"], rendezvousPort: await freePort() } as const;
  const nodes = [fakeNode(job, "localhost", master), fakeNode(job, "node2", worker)] as const;
  const runs = nodes.map((node) =>
    runJob(testOptions({ ...options, nodeRank: undefined }), node.deps).then(
      (code) => ({ code }),
      (error: unknown) => ({ error }),
    ),
  );
  return { nodes, runs: Promise.all(runs) };
}

test("each: every node runs the script after the barrier; all exit 0, every container removed", async () => {
  const { nodes, runs } = await eachJob({ scriptExit: 0 }, { scriptExit: 0 });
  expect(await runs).toEqual([{ code: 0 }, { code: 0 }]);
  for (const node of nodes) expect(node.execArgs).toHaveLength(1);
  expect(job.events.filter((e) => e.endsWith("removed")).sort()).toEqual(["localhost: removed", "node2: removed"]);
  // Both containers were up before either script ran.
  const firstExec = job.events.findIndex((e) => e.endsWith("exec"));
  expect(job.events.slice(0, firstExec).sort()).toEqual(["localhost: run", "node2: run"]);
});

test("each: a worker's failure ends the master's script, and its code is the job's", async () => {
  const { runs } = await eachJob({}, { scriptExit: 5 });
  expect(await runs).toEqual([{ code: 5 }, { code: 5 }]);
  expect(job.events).toContain("localhost: removed");
  expect(job.events).toContain("node2: removed");
});

test("each: workers that finish first do not end the master's script; it runs to its end", async () => {
  // Rank 0 often works on alone (saving the model): seen killed, with exit 0 said, under load.
  const { nodes, runs } = await eachJob({ scriptExit: 0, scriptMs: 300 }, { scriptExit: 0 });
  expect(await runs).toEqual([{ code: 0 }, { code: 0 }]);
  const at = (event: string) => job.events.indexOf(event);
  expect(at("localhost: script exit 0")).toBeGreaterThan(at("node2: script exit 0"));
  expect(at("localhost: script exit 0")).toBeLessThan(at(`localhost: remove ${nameOf(nodes[0])}`));
});

test("each: the master's own failure after the workers ended well is the job's code", async () => {
  const { runs } = await eachJob({ scriptExit: 3, scriptMs: 300 }, { scriptExit: 0 });
  // Each task exits with its own script's code; srun returns the highest.
  expect(await runs).toEqual([{ code: 3 }, { code: 0 }]);
  expect(job.events).toContain("localhost: script exit 3");
});

test("signal on the master: its container goes first, only then are the workers told", async () => {
  const { nodes, runs } = await eachJob({ removeMs: 300 }, {});
  await until(() => job.events.filter((e) => e.endsWith("exec")).length === 2);
  nodes[0].signal("SIGTERM");
  const [master, worker] = await runs;
  expect(master).toEqual({ code: 143 });
  // runJob returns only once the signal's teardown has told the others (then the handler exits).
  expect(nodes[0].exitCodes).toEqual([143]);
  expect(worker).toHaveProperty("code");
  const at = (event: string) => job.events.indexOf(event);
  expect(at("localhost: removed")).toBeGreaterThan(-1);
  expect(at("localhost: removed")).toBeLessThan(at(`node2: remove ${nameOf(nodes[1])}`));
});

test("signal on a worker: its container goes first, then the master learns and ends the job", async () => {
  const { nodes, runs } = await eachJob({}, { removeMs: 300 });
  await until(() => job.events.filter((e) => e.endsWith("exec")).length === 2);
  nodes[1].signal("SIGTERM");
  const [master, worker] = await runs;
  expect(worker).toEqual({ code: 143 });
  // runJob returns only once the signal's teardown has told the others (then the handler exits).
  expect(nodes[1].exitCodes).toEqual([143]);
  // The master hears of the worker's end (its script's exit, or its report) and ends the job.
  expect(master).not.toEqual({ code: 0 });
  const at = (event: string) => job.events.indexOf(event);
  expect(at("node2: removed")).toBeGreaterThan(-1);
  expect(at("node2: removed")).toBeLessThan(at(`localhost: remove ${nameOf(nodes[0])}`));
});

/**
 * A two-node ssh job on this host: the worker is `127.0.0.1`, so the master's reachability
 * check of the worker's sshd finds a banner; each node's fake sshd gets its own port.
 */
async function sshJob(master: Parameters<typeof fakeNode>[2], worker: Parameters<typeof fakeNode>[2]) {
  const shared = { nodelist: ["localhost", "127.0.0.1"], rendezvousPort: await freePort() };
  const nodes = [fakeNode(job, "localhost", master), fakeNode(job, "worker", worker)] as const;
  const ports = [await freePort(), await freePort()];
  const runs = nodes.map((node, rank) =>
    runJob(testOptions({ ...shared, nodeRank: rank, sshdPort: ports[rank] }), node.deps).then(
      (code) => ({ code }),
      (error: unknown) => ({ error }),
    ),
  );
  return { nodes, runs: Promise.all(runs) };
}

test("worker (ssh): keeps its container until the master's script ends, runs nothing itself", async () => {
  const { nodes, runs } = await sshJob({ scriptExit: 0 }, {});
  expect(await runs).toEqual([{ code: 0 }, { code: 0 }]);
  expect(nodes[1].execArgs).toEqual([]);
  const at = (event: string) => job.events.indexOf(event);
  expect(at("worker: run")).toBeLessThan(at("localhost: exec"));
  expect(at("localhost: exec")).toBeLessThan(at(`worker: remove ${nameOf(nodes[1])}`));
  expect(job.events).toContain("worker: removed");
});

test("worker (ssh): a master that fails aborts the job; the worker removes its container and exits 1", async () => {
  const { nodes, runs } = await sshJob({ startError: new Error("no space left on device") }, {});
  const [master, worker] = await runs;
  expect(master).toHaveProperty("error", expect.objectContaining({ message: "no space left on device" }));
  // The abort reaches the worker before or after its container started: exit 1 either way
  // (returned, or said on the way out), and a container it started is removed.
  const code =
    worker === undefined
      ? undefined
      : "code" in worker
        ? worker.code
        : worker.error instanceof SaidElsewhere
          ? worker.error.exitCode
          : worker;
  expect(code).toBe(1);
  expect(nodes[1].stderr.join("")).toContain("the master ended the job: master localhost: no space left on device");
  expect(job.events.includes("worker: removed")).toBe(job.events.includes("worker: run"));
});

test("out of memory: the node says so once, naming the limit, exits 137, and its container is still removed", async () => {
  const node = fakeNode(job, "node1", { scriptExit: 1, outOfMemory: true });
  node.deps.env.SLURM_MEM_PER_NODE = "256";
  const code = await runJob(testOptions({ nodelist: ["node1"], sshdPort: await freePort() }), node.deps);
  expect(code).toBe(137);
  const said = node.stderr.join("");
  expect(said).toContain("srun-docker: error: node1: the job ran out of memory (limit 256 MiB from --mem)\nhint: ");
  expect(said.match(/ran out of memory/g)).toHaveLength(1);
  expect(job.events.slice(-3)).toEqual([
    "node1: asked about memory",
    `node1: remove ${nameOf(node)}`,
    "node1: removed",
  ]);
});

test("a job that succeeded is not asked about memory; a failure without a kill keeps the script's code", async () => {
  const ok = fakeNode(job, "node1", { scriptExit: 0, outOfMemory: true });
  expect(await runJob(testOptions({ nodelist: ["node1"], sshdPort: await freePort() }), ok.deps)).toBe(0);
  expect(job.events).not.toContain("node1: asked about memory");
  const failed = fakeNode(job, "node2", { scriptExit: 3 });
  expect(await runJob(testOptions({ nodelist: ["node2"], sshdPort: await freePort() }), failed.deps)).toBe(3);
  expect(job.events).toContain("node2: asked about memory");
});

test("worker out of memory: the worker names itself and exits 137 after the master's script failed", async () => {
  const { nodes, runs } = await sshJob({ scriptExit: 1 }, { outOfMemory: true });
  expect(await runs).toEqual([{ code: 1 }, { code: 137 }]);
  expect(nodes[1].stderr.join("")).toContain(
    "127.0.0.1: the job ran out of memory (no container limit: the node itself ran out)",
  );
  expect(job.events).toContain("worker: removed");
});
