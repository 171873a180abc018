import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  applyPullProgress,
  nextPullLine,
  type PullProgress,
  type PullProgressEvent,
  pullTotals,
  renderPresentSummary,
  renderPullBar,
  renderPullSummary,
  startPullProgress,
} from "./pull-progress.js";

const IMAGE = "reg:5000/team/app:1.2";
const DIGEST = `sha256:1a2b3c4d5e6f${"0".repeat(52)}`;
const GB = 1_000_000_000;
const snap = (bytesDone: number, bytesTotal: number, layersDone = 0, layers = 3) => ({
  layers,
  layersDone,
  bytesDone,
  bytesTotal,
});
const play = (events: PullProgressEvent[], nodes = ["node1", "node2", "node3", "node4"]): PullProgress =>
  events.reduce(applyPullProgress, startPullProgress(IMAGE, nodes, 0));

/** node1 pulls 2.1 GB from the registry; the other three get it from node1. */
const JOB: PullProgressEvent[] = [
  { kind: "started", node: "node1", source: { kind: "registry" }, at: 0 },
  { kind: "progress", node: "node1", snapshot: snap(0.7 * GB, 2.1 * GB, 1), at: 10_000 },
  { kind: "progress", node: "node1", snapshot: snap(2.1 * GB, 2.1 * GB, 3), at: 30_000 },
  { kind: "finished", node: "node1", at: 30_000 },
  ...["node2", "node3", "node4"].flatMap((node): PullProgressEvent[] => [
    { kind: "started", node, source: { kind: "peer", node: "node1" }, at: 30_000 },
    { kind: "progress", node, snapshot: snap(2.1 * GB, 2.1 * GB, 3), at: 41_000 },
    { kind: "finished", node, at: 41_000 },
  ]),
];

describe("the model", () => {
  test("totals add the nodes up; only finished, unfailed nodes are done", () => {
    const state = play([...JOB.slice(0, 3), { kind: "failed", node: "node2", at: 20_000 }]);
    expect(pullTotals(state)).toEqual({
      bytesDone: 2.1 * GB,
      bytesTotal: 2.1 * GB,
      layersDone: 3,
      layers: 3,
      nodesDone: 0,
      nodesFailed: 1,
      nodes: 4,
    });
  });

  test("news for an unknown node or after a node's end changes nothing; progress first starts it", () => {
    const ended = play(JOB.slice(0, 4));
    expect(applyPullProgress(ended, { kind: "progress", node: "node1", snapshot: snap(1, 1), at: 50 })).toEqual(ended);
    expect(applyPullProgress(ended, { kind: "started", node: "node9", source: { kind: "registry" }, at: 1 })).toEqual(
      ended,
    );
    const early = play([{ kind: "progress", node: "node2", snapshot: snap(5, 10), at: 7 }]);
    expect(early.nodes[1]).toMatchObject({ startedAt: 7, source: undefined });
  });
});

describe("on a terminal: one bar", () => {
  test.each<[string, PullProgressEvent[], number, string]>([
    [
      "nothing yet",
      [],
      0,
      "pulling reg:5000/team/app:1.2 [........................................] starting  nodes 0/4",
    ],
    [
      "a third of the bytes after 10 s",
      JOB.slice(0, 2),
      10_000,
      "pulling reg:5000/team/app:1.2 [#############...........................] 700 MB / 2.1 GB  70.0 MB/s  ETA 20 s  nodes 0/4",
    ],
    [
      "one node done",
      JOB.slice(0, 4),
      30_000,
      "pulling reg:5000/team/app:1.2 [########################################] 2.1 GB / 2.1 GB  70.0 MB/s  nodes 1/4",
    ],
    [
      "podman: no sizes, layers",
      [
        { kind: "started", node: "node1", source: { kind: "registry" }, at: 0 },
        { kind: "progress", node: "node1", snapshot: snap(0, 0, 1, 4), at: 2000 },
      ],
      2000,
      "pulling reg:5000/team/app:1.2 [##########..............................] layers 1/4  nodes 0/4",
    ],
  ])("%s", (_, events, now, line) => expect(renderPullBar(play(events), now, 120)).toBe(line));

  test("a narrow terminal drops the name, then the bar; never wider than the terminal", () => {
    const state = play(JOB.slice(0, 2));
    expect(renderPullBar(state, 10_000, 80)).toBe(
      "pulling [#######...............] 700 MB / 2.1 GB  70.0 MB/s  ETA 20 s  nodes 0/4",
    );
    expect(renderPullBar(state, 10_000, 60)).toBe("pulling 700 MB / 2.1 GB  70.0 MB/s  ETA 20 s  nodes 0/4");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: JOB.length }), fc.integer({ min: 20, max: 300 }), (n, columns) => {
        expect(renderPullBar(play(JOB.slice(0, n)), 15_000, columns).length).toBeLessThanOrEqual(columns);
      }),
    );
  });
});

describe("without a terminal: a line at most every 10 s", () => {
  const state = play(JOB.slice(0, 2));
  test.each<[number, number | undefined, string | undefined]>([
    [10_000, undefined, "pulling reg:5000/team/app:1.2: 700 MB of 2.1 GB (33%), 70.0 MB/s, ETA 20 s, 0/4 nodes done"],
    [10_000, 5_000, undefined],
    [15_000, 5_000, "pulling reg:5000/team/app:1.2: 700 MB of 2.1 GB (33%), 46.7 MB/s, ETA 30 s, 0/4 nodes done"],
  ])("at %i, last line at %s", (now, last, line) => expect(nextPullLine(state, now, last)).toBe(line));

  test("before the engine said a size or a layer: starting, not a count of nothing", () => {
    const started = play([{ kind: "started", node: "node1", source: { kind: "registry" }, at: 0 }]);
    expect(nextPullLine(started, 1_000, undefined)).toBe("pulling reg:5000/team/app:1.2: starting, 0/4 nodes done");
  });

  test("when every node has ended the summary speaks, not the line", () => {
    expect(nextPullLine(play(JOB), 60_000, undefined)).toBeUndefined();
  });
});

describe("the summary", () => {
  test.each<[string, PullProgressEvent[], string[], string]>([
    [
      "one from the registry, three from a peer",
      JOB,
      ["node1", "node2", "node3", "node4"],
      "pulled reg:5000/team/app:1.2@sha256:1a2b3c4d5e6f on 4 nodes: 2.1 GB in 41 s (1 from the registry, 3 from node1)",
    ],
    [
      "a node that had it",
      [
        { kind: "started", node: "a", source: { kind: "registry" }, at: 0 },
        { kind: "progress", node: "a", snapshot: snap(52_000_000, 52_000_000), at: 3000 },
        { kind: "finished", node: "a", at: 3000 },
        { kind: "started", node: "b", source: { kind: "present" }, at: 0 },
        { kind: "finished", node: "b", at: 0 },
      ],
      ["a", "b"],
      "pulled reg:5000/team/app:1.2@sha256:1a2b3c4d5e6f on 2 nodes: 52.0 MB in 3 s (1 from the registry, 1 had it)",
    ],
    [
      "one node only",
      [
        { kind: "started", node: "a", source: { kind: "registry" }, at: 0 },
        { kind: "finished", node: "a", at: 125_000 },
      ],
      ["a"],
      "pulled reg:5000/team/app:1.2@sha256:1a2b3c4d5e6f on 1 node: 0 B in 2 min 5 s (1 from the registry)",
    ],
  ])("%s", (_, events, nodes, line) => expect(renderPullSummary(play(events, nodes), DIGEST, 200_000)).toBe(line));

  test("an image given with a digest is not named twice; nodes that failed are not counted", () => {
    const digestImage = { ...play(JOB.slice(0, 4)), image: `team/app@${DIGEST}` };
    expect(renderPullSummary(digestImage, DIGEST, 30_000)).toBe(
      "pulled team/app@sha256:1a2b3c4d5e6f on 1 of 4 nodes: 2.1 GB in 30 s (1 from the registry)",
    );
  });
});

test("a podman pull (no byte counts): the summary counts layers", () => {
  let state = startPullProgress("reg/app:1", ["n1"], 0);
  state = applyPullProgress(state, { kind: "started", node: "n1", source: { kind: "registry" }, at: 0 });
  state = applyPullProgress(state, {
    kind: "progress",
    node: "n1",
    snapshot: { layers: 3, layersDone: 3, bytesDone: 0, bytesTotal: 0 },
    at: 1000,
  });
  state = applyPullProgress(state, { kind: "finished", node: "n1", at: 2000 });
  expect(renderPullSummary(state, `sha256:${"a".repeat(64)}`, 2000)).toMatch(/: 3 layers in /);
});

test("srun-docker pull when every node had the image", () => {
  expect(renderPresentSummary("reg:5000/team/app:1.2", DIGEST, 4)).toBe(
    "reg:5000/team/app:1.2@sha256:1a2b3c4d5e6f was on all 4 nodes already",
  );
  expect(renderPresentSummary(`team/app@${DIGEST}`, DIGEST, 1)).toBe(
    "team/app@sha256:1a2b3c4d5e6f was on the node already",
  );
});
