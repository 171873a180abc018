import { expect, test } from "vitest";
import { parsePodmanPullLine, podmanPulledId } from "./podman-pull-output.js";
import { EMPTY_TALLY, snapshotOf, tallyEvent } from "./pull-layer-tally.js";
import { applyStreamEvent, EMPTY_OUTCOME, type PullStreamEvent, parseDockerPullLine } from "./pull-stream.js";

const DIGEST = `sha256:${"c".repeat(64)}`;

/** A stream as dockerd writes it (its status words), for three layers, one already on the node. */
const DOCKER_STREAM = [
  '{"status":"Pulling from team/app","id":"1.2"}',
  '{"status":"Already exists","progressDetail":{},"id":"aaaaaaaaaaaa"}',
  '{"status":"Pulling fs layer","progressDetail":{},"id":"bbbbbbbbbbbb"}',
  '{"status":"Pulling fs layer","progressDetail":{},"id":"cccccccccccc"}',
  '{"status":"Waiting","progressDetail":{},"id":"cccccccccccc"}',
  '{"status":"Downloading","progressDetail":{"current":400,"total":1000},"progress":"[=>  ] 400B/1kB","id":"bbbbbbbbbbbb"}',
  '{"status":"Downloading","progressDetail":{"current":500,"total":5000},"id":"cccccccccccc"}',
  '{"status":"Verifying Checksum","progressDetail":{},"id":"bbbbbbbbbbbb"}',
  '{"status":"Download complete","progressDetail":{},"id":"bbbbbbbbbbbb"}',
  '{"status":"Extracting","progressDetail":{"current":32768,"total":99999},"id":"bbbbbbbbbbbb"}',
  '{"status":"Pull complete","progressDetail":{},"id":"bbbbbbbbbbbb"}',
];

test.each<[string, PullStreamEvent | undefined]>([
  ['{"status":"Pulling from team/app","id":"1.2"}', { kind: "status", text: "Pulling from team/app 1.2" }],
  ['{"status":"Pulling fs layer","progressDetail":{},"id":"b1"}', { kind: "layer", id: "b1", phase: "pulling" }],
  [
    '{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"b1"}',
    { kind: "layer", id: "b1", phase: "downloading", current: 1, total: 2 },
  ],
  [
    '{"status":"Extracting","progressDetail":{"current":5},"id":"b1"}',
    { kind: "layer", id: "b1", phase: "extracting", current: 5 },
  ],
  ['{"status":"Retrying in 5 seconds","progressDetail":{},"id":"b1"}', { kind: "layer", id: "b1", phase: "retrying" }],
  ['{"status":"Already exists","progressDetail":{},"id":"b1"}', { kind: "layer", id: "b1", phase: "already-exists" }],
  [`{"status":"Digest: ${DIGEST}"}`, { kind: "digest", digest: DIGEST }],
  ['{"status":"Status: Image is up to date for reg/app:1"}', { kind: "up-to-date" }],
  [
    '{"status":"Status: Downloaded newer image for reg/app:1"}',
    { kind: "status", text: "Status: Downloaded newer image for reg/app:1" },
  ],
  [
    '{"errorDetail":{"message":"failed to register layer: no space left on device"},"error":"failed to register layer: no space left on device"}',
    { kind: "error", message: "failed to register layer: no space left on device" },
  ],
  ['{"error":"toomanyrequests"}', { kind: "error", message: "toomanyrequests" }],
  ["", undefined],
  ["not json", undefined],
  ["42", undefined],
  ['{"progress":"x"}', undefined],
])("parseDockerPullLine(%s)", (line, expected) => expect(parseDockerPullLine(line)).toEqual(expected));

test("a stream's outcome: the digest, up to date or not, the first error", () => {
  const run = (lines: string[]) =>
    lines.map(parseDockerPullLine).reduce((o, e) => (e === undefined ? o : applyStreamEvent(o, e)), EMPTY_OUTCOME);
  expect(run([...DOCKER_STREAM, `{"status":"Digest: ${DIGEST}"}`])).toEqual({
    digest: DIGEST,
    upToDate: false,
    error: undefined,
  });
  expect(run([`{"status":"Digest: ${DIGEST}"}`, '{"status":"Status: Image is up to date for x"}'])).toMatchObject({
    upToDate: true,
  });
  expect(run(['{"error":"first"}', '{"error":"second"}']).error).toBe("first");
});

test("the tally of a docker stream: layers, and download bytes only (extracting is not counted again)", () => {
  const snapshots = DOCKER_STREAM.map(parseDockerPullLine)
    .filter((e) => e !== undefined)
    .reduce<{ tally: typeof EMPTY_TALLY; seen: ReturnType<typeof snapshotOf>[] }>(
      ({ tally, seen }, event) => {
        const next = tallyEvent(tally, event);
        return { tally: next, seen: [...seen, snapshotOf(next)] };
      },
      { tally: EMPTY_TALLY, seen: [] },
    ).seen;
  expect(snapshots.at(5)).toEqual({ layers: 3, layersDone: 1, bytesDone: 400, bytesTotal: 1000 });
  expect(snapshots.at(6)).toEqual({ layers: 3, layersDone: 1, bytesDone: 900, bytesTotal: 6000 });
  expect(snapshots.at(-1)).toEqual({ layers: 3, layersDone: 2, bytesDone: 1500, bytesTotal: 6000 });
});

test("a retried download starts again from 0; a stray current never passes the total", () => {
  const events: PullStreamEvent[] = [
    { kind: "layer", id: "x", phase: "downloading", current: 700, total: 1000 },
    { kind: "layer", id: "x", phase: "retrying" },
    { kind: "layer", id: "x", phase: "downloading", current: 5000 },
  ];
  const states = events.map((_, i) => snapshotOf(events.slice(0, i + 1).reduce(tallyEvent, EMPTY_TALLY)).bytesDone);
  expect(states).toEqual([700, 0, 1000]);
});

// podman 4.3's stderr, captured from a real `podman pull` without a terminal.
const PODMAN_STDERR = `Trying to pull 127.0.0.1:5599/probe/app:1...
Getting image source signatures
Copying blob sha256:5af30c773ffc1e6ac57b688a6de76f7e1d0a0bdf2a68f2b90455bd8e4567f557
Copying blob sha256:a7aa5b1cac5538f8b0078e5e140c21d6c0d7cb89037f1456a3f461c957f11593
Copying config sha256:cf16feb6929f6093a38a661cd70f4591b9daa864b3b58a5e06e920d0e5e4a83b
Writing manifest to image destination
Storing signatures`;

test("podman's stderr: layers as they start, all done at the manifest", () => {
  const events = PODMAN_STDERR.split("\n").map(parsePodmanPullLine);
  expect(events[2]).toEqual({ kind: "layer", id: "5af30c773ffc", phase: "pulling" });
  expect(events[5]).toEqual({ kind: "layers-complete" });
  const tallies = events
    .filter((e) => e !== undefined)
    .map((_, i, all) => snapshotOf(all.slice(0, i + 1).reduce(tallyEvent, EMPTY_TALLY)));
  expect(tallies[3]).toMatchObject({ layers: 2, layersDone: 0 });
  expect(tallies.at(-1)).toMatchObject({ layers: 2, layersDone: 2, bytesDone: 0 });
});

test.each<[string, PullStreamEvent | undefined]>([
  ["Copying blob 5af30c773ffc skipped: already exists", { kind: "layer", id: "5af30c773ffc", phase: "already-exists" }],
  ["Copying blob 5af30c773ffc done   |", { kind: "layer", id: "5af30c773ffc", phase: "done" }],
  [
    "Error: initializing source docker://127.0.0.1:5599/probe/app:nope: reading manifest nope in 127.0.0.1:5599/probe/app: manifest unknown",
    {
      kind: "error",
      message:
        "initializing source docker://127.0.0.1:5599/probe/app:nope: reading manifest nope in 127.0.0.1:5599/probe/app: manifest unknown",
    },
  ],
  [
    'time="2026-12-01T18:23:15Z" level=warning msg="Failed, retrying in 1s ... (1/3). Error: pinging: Get \\"http://r/v2/\\": refused"',
    { kind: "status", text: 'Failed, retrying in 1s ... (1/3). Error: pinging: Get "http://r/v2/": refused' },
  ],
  ["   ", undefined],
])("parsePodmanPullLine(%s)", (line, expected) => expect(parsePodmanPullLine(line)).toEqual(expected));

test("podmanPulledId: the last stdout line, if it is an ID", () => {
  expect(podmanPulledId(`${"f".repeat(64)}\n`)).toBe(`sha256:${"f".repeat(64)}`);
  expect(podmanPulledId("")).toBeUndefined();
  expect(podmanPulledId("something else")).toBeUndefined();
});
