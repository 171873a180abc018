// --pull-once between fake nodes on this host: a real rendezvous, real relay servers and clients
// on 127.0.0.x, fake engines whose archives are real bytes. `srun-docker pull` (runPull) stages
// the image; a job (runJob) runs what came through the relay by its ID.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import type { PullCommandOptions } from "../../cli/pull-command-options.js";
import type { UserError } from "../../core/common/index.js";
import { DEFAULT_PULL_OPTIONS, type PullOptions } from "../../core/image/index.js";
import { ARCHIVE_BYTES, IMAGE_DIGEST, IMAGE_ID } from "./fake-image-engine.test-support.js";
import {
  type FakeNode,
  fakeNode,
  freePort,
  makeTestJob,
  type NodeBehaviour,
  type TestJob,
  testOptions,
} from "./fake-node.test-support.js";
import { runPull } from "./image/index.js";
import { runJob } from "./index.js";

const NODES = ["localhost", "127.0.0.2", "127.0.0.3", "127.0.0.4"];
const IMAGE = `reg.test/app@${IMAGE_DIGEST}`;
let job: TestJob;
let jobId: string;
beforeEach(() => {
  job = makeTestJob();
  jobId = String(100_000 + Math.floor(Math.random() * 800_000));
});
afterEach(() => job.cleanUp());

const slurmNode = (name: string, behaviour: NodeBehaviour) =>
  fakeNode(job, name, {
    ...behaviour,
    env: { SLURM_JOB_ID: jobId, SLURM_STEP_ID: "0", SLURM_STEP_NODELIST: NODES.join(","), SLURMD_NODENAME: name },
  });
const outcome = (run: Promise<number>) =>
  run.then(
    (code) => ({ code }),
    (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
  );

async function pullJob(
  behaviours: NodeBehaviour[],
  more: Partial<PullCommandOptions> = {},
  perNode: (rank: number) => Partial<PullCommandOptions> = () => ({}),
) {
  const options: PullCommandOptions = {
    image: IMAGE,
    pull: { ...DEFAULT_PULL_OPTIONS, once: true, timeoutSeconds: 30 },
    runtime: "docker",
    timeoutSeconds: 20,
    rendezvousPort: await freePort(),
    debug: true,
    ...more,
  };
  const nodes = NODES.map((name, rank) => slurmNode(name, behaviours[rank] ?? {}));
  const results = await Promise.all(
    nodes.map((node, rank) => outcome(runPull({ ...options, ...perNode(rank) }, node.deps))),
  );
  return { nodes, results, said: (node: FakeNode) => node.stderr.join("") };
}

const summaryOf = (node: FakeNode) => node.stderr.join("").match(/^pulled .*$/m)?.[0];

test("--pull-once, 4 nodes: one pull from the registry, three loads through the tree, the summary names each source", async () => {
  const { nodes, results } = await pullJob(NODES.map(() => ({ image: { has: false } })));
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  expect(nodes.map((n) => n.images.pulls)).toEqual([["app"], [], [], []]);
  expect(nodes.map((n) => n.images.loads)).toEqual([[], [ARCHIVE_BYTES], [ARCHIVE_BYTES], [ARCHIVE_BYTES]]);
  // node 0 serves ranks 1 and 2, rank 1 serves rank 3: nobody sends more than two copies.
  expect(nodes.map((n) => n.images.saves.length)).toEqual([2, 1, 0, 0]);
  expect(summaryOf(nodes[0] as FakeNode)).toMatch(
    /^pulled reg\.test\/app@sha256:999999999999 on 4 nodes: .* \(1 from the registry, 2 from localhost, 1 from 127\.0\.0\.2\)$/,
  );
  // A digest pins no image ID: the master pulled it first, and announced the ID each load is checked by.
  expect((nodes[0] as FakeNode).stderr.join("")).toContain(`image: every node runs ${IMAGE} (${IMAGE_ID})`);
});

test("a parent that sends another image named as the job's tag: loaded unnamed, refused by its ID, never named; the child pulls", async () => {
  const other = `sha256:${"6".repeat(64)}`;
  const { nodes, results, said } = await pullJob(
    [
      {},
      { savesInstead: { id: other, repoTags: ["reg.test/app:1", "busybox:latest"] } },
      { has: false },
      { has: false },
    ].map((image) => ({ image })),
    { image: "reg.test/app:1" },
  );
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  const child = nodes[3] as FakeNode;
  expect(child.images.loads).toHaveLength(1);
  expect(said(child)).toMatch(
    /could not get the image from 127\.0\.0\.2 \(the archive loaded as 666666666666, not the offered 111111111111\): pulling it from the registry instead/,
  );
  expect(child.images.pulls).toEqual(["app"]);
  // Named once, after the pull, as the user named it; the other image was given no name at all.
  expect(child.images.named).toEqual([`reg.test/app:1 ${IMAGE_ID}`]);
  expect(nodes[2]?.images.named).toEqual([`reg.test/app:1 ${IMAGE_ID}`]);
});

test("a parent whose archive breaks mid-stream: its child pulls from the registry instead (said with --debug), and every node has the image", async () => {
  const { nodes, results, said } = await pullJob([
    { image: { has: false } },
    { image: { has: false, saveFailsAfter: 512 * 1024 } },
    { image: { has: false } },
    { image: { has: false } },
  ]);
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  expect(nodes.map((n) => n.images.pulls)).toEqual([["app"], [], [], ["app"]]);
  expect(said(nodes[3] as FakeNode)).toMatch(
    /could not get the image from 127\.0\.0\.2 \(.*\): pulling it from the registry instead/,
  );
  expect(summaryOf(nodes[0] as FakeNode)).toMatch(/\(2 from the registry, 2 from localhost\)$/);
});

test("a node that has the image skips its fetch and serves its child at once", async () => {
  const { nodes, results } = await pullJob([
    { image: { has: false } },
    {},
    { image: { has: false } },
    { image: { has: false } },
  ]);
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  expect(nodes.map((n) => n.images.pulls)).toEqual([["app"], [], [], []]);
  expect(nodes[1]?.images.loads).toEqual([]);
  expect(summaryOf(nodes[0] as FakeNode)).toMatch(
    /\(1 from the registry, 1 had it, 1 from localhost, 1 from 127\.0\.0\.2\)$/,
  );
});

test("every node has it: one line says so, nothing moves", async () => {
  const { nodes, results } = await pullJob([{}, {}, {}, {}]);
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  expect(nodes.flatMap((n) => [...n.images.pulls, ...n.images.loads])).toEqual([]);
  expect((nodes[0] as FakeNode).stderr.join("")).toContain(
    "reg.test/app@sha256:999999999999 was on all 4 nodes already",
  );
});

test("the registry refuses the master: it fails with the one line naming it, and the workers end too", async () => {
  const { nodes, results } = await pullJob([{ image: { has: false, pullFails: "manifest unknown" } }, {}, {}, {}], {
    debug: false,
  });
  expect(results[0]).toEqual({ error: expect.stringMatching(/cannot pull .*reg\.test\/app.* on localhost/) });
  for (const result of results.slice(1)) expect(result).toEqual({ error: expect.any(String) });
  expect(nodes[1]?.images.loads).toEqual([]);
});

test("without --pull-once every node pulls for itself; the summary waits for the master's own pull, and counts what the workers said they fetched", async () => {
  const { nodes, results } = await pullJob(
    NODES.map((_, rank) => ({ image: { has: false, pullMs: rank === 0 ? 400 : 0 } })),
    { pull: { ...DEFAULT_PULL_OPTIONS, once: false, timeoutSeconds: 30 } },
  );
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  expect(nodes.map((n) => n.images.pulls)).toEqual([["app"], ["app"], ["app"], ["app"]]);
  expect(summaryOf(nodes[0] as FakeNode)).toMatch(/ on 4 nodes: 700 kB in .* \(4 from the registry\)$/);
});

test.each([
  [
    "the master without it, the workers with it: every node pulls for itself",
    false,
    [["app"], ["app"], ["app"], ["app"]],
  ],
  [
    "the master with it, one worker without: that worker pulls for itself, and so does its child; the other relays",
    true,
    [["app"], ["app"], [], ["app"]],
  ],
])("--pull-once is the master's to decide: %s", async (_name, masterOnce, pulls) => {
  const { nodes, results } = await pullJob(
    NODES.map(() => ({ image: { has: false } })),
    {},
    (rank) => ({ pull: { ...DEFAULT_PULL_OPTIONS, timeoutSeconds: 30, once: rank === 0 ? masterOnce : rank !== 1 } }),
  );
  expect(results).toEqual(NODES.map(() => ({ code: 0 })));
  expect(nodes.map((n) => n.images.pulls)).toEqual(pulls);
});

test("a job with --pull-once runs what came through the relay by its ID (by digest the engine would pull it)", async () => {
  const nodes = NODES.slice(0, 3).map((name) => slurmNode(name, { image: { has: false }, scriptExit: 0 }));
  const options = testOptions({
    container: IMAGE,
    launcher: "each",
    nodelist: undefined,
    nodeRank: undefined,
    rendezvousPort: await freePort(),
    pull: { ...DEFAULT_PULL_OPTIONS, once: true, timeoutSeconds: 30 },
  });
  for (const node of nodes) node.deps.env.SLURM_STEP_NODELIST = NODES.slice(0, 3).join(",");
  const results = await Promise.all(nodes.map((node) => outcome(runJob(options, node.deps))));
  expect(results).toEqual([{ code: 0 }, { code: 0 }, { code: 0 }]);
  expect(nodes[0]?.runArgs[0]).toContain(IMAGE);
  for (const worker of nodes.slice(1)) {
    expect(worker.images.loads).toEqual([ARCHIVE_BYTES]);
    expect(worker.runArgs[0]).toContain(IMAGE_ID);
  }
});

test("a later job on a node whose copy came through a relay runs it by ID, not by the digest its engine does not know", async () => {
  const { nodes } = await pullJob(NODES.map((_, rank) => ({ image: { has: rank === 0 } })));
  const worker = nodes[3] as FakeNode;
  expect(worker.images.loads).toEqual([ARCHIVE_BYTES]);
  jobId = String(Number(jobId) + 1);
  const master = slurmNode("localhost", { scriptExit: 0 });
  const again = slurmNode("127.0.0.4", { scriptExit: 0 });
  again.deps.createImageEngine = () => worker.images;
  for (const node of [master, again]) node.deps.env.SLURM_STEP_NODELIST = "localhost,127.0.0.4";
  const options = testOptions({
    container: IMAGE,
    launcher: "each",
    nodelist: undefined,
    nodeRank: undefined,
    rendezvousPort: await freePort(),
  });
  const results = await Promise.all([master, again].map((node) => outcome(runJob(options, node.deps))));
  expect(results).toEqual([{ code: 0 }, { code: 0 }]);
  expect(master.runArgs[0]).toContain(IMAGE);
  expect(again.runArgs[0]).toContain(IMAGE_ID);
  expect(again.runArgs[0]).not.toContain(IMAGE);
  expect(worker.images.pulls).toEqual([]);
});

describe("the same tag built on each node (`srun docker build -t app .`)", () => {
  const OTHER_BUILD = `sha256:${"b".repeat(64)}`;
  async function perNodeBuilds(pull: Partial<PullOptions>) {
    const names = NODES.slice(0, 3);
    const nodes = names.map((name, rank) =>
      slurmNode(name, { image: { build: rank === 0 ? IMAGE_ID : OTHER_BUILD }, scriptExit: 0 }),
    );
    for (const node of nodes) node.deps.env.SLURM_STEP_NODELIST = names.join(",");
    const options = testOptions({
      container: "app",
      launcher: "each",
      nodelist: undefined,
      nodeRank: undefined,
      rendezvousPort: await freePort(),
      pull: { ...DEFAULT_PULL_OPTIONS, timeoutSeconds: 30, ...pull },
    });
    const results = await Promise.all(
      nodes.map((node) =>
        runJob(options, node.deps).then(
          (code) => ({ code }),
          (error: UserError) => ({ error: error.message, hint: error.hint }),
        ),
      ),
    );
    return { nodes, results, said: (rank: number) => nodes[rank]?.stderr.join("") ?? "" };
  }

  test("a worker says its app is another build, naming both IDs and both ways out", async () => {
    const { results } = await perNodeBuilds({});
    const line =
      /127\.0\.0\.[23]'s app is another build \(sha256:bbbbbbbbbbbb there, sha256:111111111111 on localhost\)/;
    expect(results[0]).toMatchObject({ error: expect.stringMatching(line) });
    const own = results.slice(1).find((r) => "error" in r && line.test(r.error));
    expect(own).toMatchObject({
      hint: expect.stringMatching(/^--pull-once copies localhost's build .* --image-per-node runs each node's own/),
    });
    expect(JSON.stringify(results)).not.toContain("does not have");
  });

  test("--pull-once copies the master's build to the others, and their tag moves to it", async () => {
    const { nodes, results, said } = await perNodeBuilds({ once: true });
    expect(results).toEqual([{ code: 0 }, { code: 0 }, { code: 0 }]);
    for (const [rank, worker] of nodes.slice(1).entries()) {
      expect(worker.images.loads).toEqual([ARCHIVE_BYTES]);
      expect(worker.images.tags).toEqual([`${IMAGE_ID} docker.io/library/app:latest`]);
      expect(worker.runArgs[0]).toContain(IMAGE_ID);
      expect(said(rank + 1)).toContain(
        "app here now names localhost's build (sha256:111111111111), as docker pull would; this node's own (sha256:bbbbbbbbbbbb) no longer does",
      );
    }
  });

  test("--image-per-node: each node runs its own build, and says so", async () => {
    const { nodes, results, said } = await perNodeBuilds({ perNode: true });
    expect(results).toEqual([{ code: 0 }, { code: 0 }, { code: 0 }]);
    expect(nodes[0]?.runArgs[0]).toContain(IMAGE_ID);
    for (const [rank, worker] of nodes.slice(1).entries()) {
      expect(worker.images.loads).toEqual([]);
      expect(worker.runArgs[0]).toContain(OTHER_BUILD);
      expect(said(rank + 1)).toContain(
        "warning: runs its own build of app (sha256:bbbbbbbbbbbb), not localhost's (sha256:111111111111): --image-per-node",
      );
    }
    expect(said(0)).not.toContain("own build");
  });
});
