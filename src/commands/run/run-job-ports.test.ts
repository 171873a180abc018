// runJob when another user holds the job's first ports: fake engines, a real rendezvous on this
// host, and per node the ports "taken" there (the fake sshd skips them, as sshd's start skips a
// port it cannot bind). Each job gets its own id, so its ports are its own on this shared machine.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";
import { afterEach, beforeEach, expect, test } from "vitest";
import { jobPortCandidates, type PortCandidates } from "../../core/ports/index.js";
import { createPortDraw, deriveJobSecret } from "../../io/channel/index.js";
import { ensureUserMaterial } from "../../io/ssh/index.js";
import {
  type FakeNode,
  fakeNode,
  makeTestJob,
  type NodeBehaviour,
  type TestJob,
  testOptions,
} from "./fake-node.test-support.js";
import { runJob } from "./index.js";

let job: TestJob;
let jobId: string;
const squatters: Server[] = [];
beforeEach(() => {
  job = makeTestJob();
  jobId = `ports-${randomBytes(4).toString("hex")}`;
});
afterEach(() => {
  for (const server of squatters.splice(0)) server.close();
  job.cleanUp();
});

/** The job's candidates, as every node derives them from the job's secret. */
async function candidates(): Promise<PortCandidates> {
  const material = await ensureUserMaterial(job.materialDir);
  return jobPortCandidates(
    { sshdPort: undefined, rendezvousPort: undefined },
    createPortDraw(deriveJobSecret(material.secret, `${jobId}.0`), `${jobId}.0`),
  );
}

/** Another user's program listening on `port` of this host (and accepting, but never answering). */
async function squat(port: number): Promise<void> {
  const server = createServer(() => {});
  squatters.push(server);
  await new Promise<void>((resolve) => server.listen(port, resolve));
}

const node = (name: string, behaviour: NodeBehaviour) =>
  fakeNode(job, name, { ...behaviour, env: { SRUN_DOCKER_JOB_ID: jobId } });
const outcome = (run: Promise<number>) =>
  run.then(
    (code) => ({ code }),
    (error: unknown) => ({ error }),
  );
const masterPortOf = (n: FakeNode) => n.execArgs[0]?.find((arg) => arg.startsWith("MASTER_PORT="));

test("the first rendezvous, sshd and MASTER_PORT candidates taken: the job runs on the next ones", async () => {
  const ports = await candidates();
  await squat(ports.rendezvous[0] ?? 0);
  const master = node("node1", { scriptExit: 0, takenPorts: [ports.remote[0] ?? 0, ports.master[0] ?? 0] });
  const options = testOptions({ nodelist: ["node1"], rendezvousPort: undefined, debug: true });
  expect(await runJob(options, master.deps)).toBe(0);
  // sshd's start gets every candidate, in order, and takes the first it can itself.
  expect(master.runArgs[0]?.slice(-16)).toEqual(ports.remote.map(String));
  expect(masterPortOf(master)).toBe(`MASTER_PORT=${ports.master[1]}`);
  const said = master.stderr.join("");
  expect(said).toContain(
    `ports: rendezvous ${ports.rendezvous[1]}, MASTER_PORT ${ports.master[1]}; sshd: the first it can bind of ${ports.remote.join(" ")}\n`,
  );
  expect(said).toContain(`sshd listening on ${ports.remote[1]} (port 2 of 16: the ones before are taken here)`);
});

test("each node's sshd takes the first port it can on its node; every node learns it before the job", async () => {
  const ports = await candidates();
  const [r0, r1, r2] = ports.remote;
  const options = { nodelist: ["localhost", "127.0.0.1"], rendezvousPort: undefined, debug: true };
  const nodes = [
    node("localhost", { scriptExit: 0, takenPorts: [ports.master[0] ?? 0] }),
    node("worker", { takenPorts: [r0 ?? 0, r1 ?? 0] }),
  ] as const;
  const runs = nodes.map((n, rank) => outcome(runJob(testOptions({ ...options, nodeRank: rank }), n.deps)));
  expect(await Promise.all(runs)).toEqual([{ code: 0 }, { code: 0 }]);
  expect(nodes[0].stderr.join("")).toContain(`sshd listening on ${r0} (its first port)`);
  expect(nodes[1].stderr.join("")).toContain(`sshd listening on ${r2} (port 3 of 16: the ones before are taken here)`);
  // Every node planned its files with every sshd on the first port: both rewrote theirs.
  const learnt = `remote ports: 127.0.0.1 on ${r2}, the others on ${r0}; rewrote known_hosts, ssh_config\n`;
  for (const n of nodes) expect(n.stderr.join("")).toContain(learnt);
  expect(masterPortOf(nodes[0])).toBe(`MASTER_PORT=${ports.master[1]}`);
});

test("every node on the first remote port: no file is rewritten", async () => {
  const ports = await candidates();
  const options = { nodelist: ["localhost", "127.0.0.1"], rendezvousPort: undefined, debug: true };
  const nodes = [node("localhost", { scriptExit: 0 }), node("worker", {})] as const;
  const runs = nodes.map((n, rank) => outcome(runJob(testOptions({ ...options, nodeRank: rank }), n.deps)));
  expect(await Promise.all(runs)).toEqual([{ code: 0 }, { code: 0 }]);
  for (const n of nodes) {
    const said = n.stderr.join("");
    expect(said).toContain(`remote ports: every node on ${ports.remote[0]}\n`);
  }
});

test("--debug: a worker names the rendezvous port it joined, the fallback when the first is taken", async () => {
  const ports = await candidates();
  await squat(ports.rendezvous[0] ?? 0);
  const options = { nodelist: ["localhost", "127.0.0.1"], rendezvousPort: undefined, debug: true };
  const nodes = [node("localhost", { scriptExit: 0 }), node("worker", {})] as const;
  const runs = nodes.map((n, rank) => outcome(runJob(testOptions({ ...options, nodeRank: rank }), n.deps)));
  expect(await Promise.all(runs)).toEqual([{ code: 0 }, { code: 0 }]);
  for (const n of nodes) expect(n.stderr.join("")).toContain(`ports: rendezvous ${ports.rendezvous[1]}, MASTER_PORT `);
});

test("each: the workers export the MASTER_PORT the master chose", async () => {
  const ports = await candidates();
  const options = { launcher: "each", nodelist: ["localhost", "node2"], rendezvousPort: undefined } as const;
  const nodes = [
    node("localhost", { scriptExit: 0, takenPorts: [ports.master[0] ?? 0, ports.master[1] ?? 0] }),
    node("node2", { scriptExit: 0 }),
  ] as const;
  const runs = nodes.map((n) => outcome(runJob(testOptions({ ...options, nodeRank: undefined }), n.deps)));
  expect(await Promise.all(runs)).toEqual([{ code: 0 }, { code: 0 }]);
  for (const n of nodes) expect(masterPortOf(n)).toBe(`MASTER_PORT=${ports.master[2]}`);
});

test("every remote candidate taken on a worker: its sshd cannot start, the master ends the job, nothing left", async () => {
  const ports = await candidates();
  const options = { nodelist: ["localhost", "127.0.0.1"], rendezvousPort: undefined };
  const nodes = [node("localhost", {}), node("worker", { takenPorts: ports.remote })] as const;
  const runs = nodes.map((n, rank) => outcome(runJob(testOptions({ ...options, nodeRank: rank }), n.deps)));
  const [master, worker] = await Promise.all(runs);
  const message =
    "sshd in the container on worker exited with 255 before it was ready: srun-docker: sshd could not listen on any of its ports";
  const hint =
    "other programs hold every one of the job's ports on worker; run the step again (a new step draws other ports)";
  expect(worker).toEqual({ error: expect.objectContaining({ message, hint }) });
  expect(master).toEqual({
    error: expect.objectContaining({ message: expect.stringContaining(`127.0.0.1: reported failure: ${message}`) }),
  });
  expect(job.events).toContain("localhost: removed");
  expect(job.events).toContain("worker: removed");
});

test("a port the user gave is never replaced: taken, the run fails naming it", async () => {
  const master = node("node1", { scriptExit: 0, takenPorts: [2345] });
  const error = await runJob(testOptions({ nodelist: ["node1"], sshdPort: 2345 }), master.deps).catch(
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ message: "sshd port 2345 is already in use on node1" });
  expect(master.runArgs).toEqual([]);
});

test("a rendezvous port the user gave is never replaced: taken, the run fails naming it and the node", async () => {
  const ports = await candidates();
  const given = ports.rendezvous[3] ?? 0;
  await squat(given);
  const master = node("node1", { scriptExit: 0 });
  const error = await runJob(testOptions({ nodelist: ["node1"], rendezvousPort: given }), master.deps).catch(
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ message: `rendezvous port ${given} is already in use on node1` });
  expect(master.runArgs).toEqual([]);
});
