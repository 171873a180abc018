// The image step's orchestration with a fake engine (the real pulls are proven by
// test/e2e/pull.test.ts on the test cluster's registries).
import { expect, test } from "vitest";
import type { LocalImage } from "../../../core/image/index.js";
import { DEFAULT_PULL_OPTIONS } from "../../../core/image/index.js";
import type { ImageAnnouncement } from "../../../core/rendezvous/index.js";
import type { ImageEngine } from "../../../io/image/index.js";
import { createLogger } from "../../../io/process/index.js";
import { decideJobImage, fetchHere, type PullReporter } from "./image-step.js";

const ID_A = `sha256:${"a".repeat(64)}`;
const ID_B = `sha256:${"b".repeat(64)}`;
const DIGEST = `sha256:${"d".repeat(64)}`;
const GIVEN = "reg:5000/app:1";

function fakeEngine(images: Record<string, LocalImage>, pulls: Record<string, LocalImage> = {}) {
  const calls: string[] = [];
  const engine: ImageEngine = {
    bin: "docker",
    resolve: async (ref) => {
      calls.push(`resolve ${ref.domain}/${ref.path}:${ref.tag}`);
      return ref.tag === "1"
        ? { kind: "resolved", digest: DIGEST, attempts: 1 }
        : { kind: "failed", failure: { kind: "manifest-unknown", detail: "manifest unknown" }, attempts: 1 };
    },
    find: async (name) => {
      calls.push(`find ${name}`);
      return images[name];
    },
    pull: async (ref, _auth, options) => {
      const name = `${ref.domain}/${ref.path}@${ref.digest}`;
      calls.push(`pull ${name}`);
      const got = pulls[name];
      if (got === undefined)
        return { kind: "failed", failure: { kind: "manifest-unknown", detail: "manifest unknown" } };
      options.onEvent?.({ kind: "layer", id: "l1", phase: "downloading", current: 50, total: 100 });
      options.onEvent?.({ kind: "layer", id: "l1", phase: "done" });
      images[name] = got;
      return { kind: "pulled", digest: DIGEST, imageId: got.id, upToDate: false };
    },
    load: async (path) => {
      calls.push(`load ${path}`);
      images[ID_A] = { id: ID_A, repoDigests: [] };
      return ID_A;
    },
    tag: async (id, repo, tag) => {
      calls.push(`tag ${id} ${repo}:${tag}`);
    },
    transfer: {
      save: () => {
        throw new Error("no relay in these tests");
      },
      loadFrom: async () => {
        throw new Error("no relay in these tests");
      },
      describe: () => "",
    },
  };
  return { engine, calls };
}

function recorder(): PullReporter & { said: string[] } {
  const said: string[] = [];
  return {
    said,
    started: () => said.push("started"),
    progress: (s) => said.push(`progress ${s.bytesDone}/${s.bytesTotal}`),
    finished: (bytes) => said.push(`finished ${bytes}`),
    failed: () => said.push("failed"),
  };
}

const log = createLogger({ prefix: "node2 worker", write: () => {} });
const step = (engine: ImageEngine, here: LocalImage | undefined) => ({
  node: "node2",
  master: "node1",
  given: GIVEN,
  pull: DEFAULT_PULL_OPTIONS,
  engine,
  log,
  here: Promise.resolve(here),
});

test("the master with the image here: announces it pinned to its digest and ID, and uses it", async () => {
  const here = { id: ID_A, repoDigests: [`reg:5000/app@${DIGEST}`], path: "/usr/bin" };
  const { engine, calls } = fakeEngine({});
  const announced: ImageAnnouncement[] = [];
  const image = await decideJobImage(step(engine, here), (a) => announced.push(a), recorder());
  expect(announced).toEqual([{ ref: `reg:5000/app@${DIGEST}`, id: ID_A }]);
  expect(image).toMatchObject({ id: ID_A, runRef: `reg:5000/app@${DIGEST}`, path: "/usr/bin" });
  expect(calls).toEqual([]);
});

test("the master without the image: the engine resolves the tag, every node is told its digest", async () => {
  const { engine, calls } = fakeEngine({}, { [`reg:5000/app@${DIGEST}`]: { id: ID_A, repoDigests: [] } });
  const announced: ImageAnnouncement[] = [];
  const image = await decideJobImage(
    { ...step(engine, undefined), node: "node1" },
    (a) => announced.push(a),
    recorder(),
  );
  expect(announced).toEqual([{ ref: `reg:5000/app@${DIGEST}` }]);
  expect(image.id).toBe(ID_A);
  expect(calls.slice(0, 2)).toEqual(["resolve reg:5000/app:1", `find reg:5000/app@${DIGEST}`]);
});

test("a tag the engine cannot resolve: one line naming the master, the image and the registry", async () => {
  const { engine, calls } = fakeEngine({});
  const run = { ...step(engine, undefined), node: "node1", given: "reg:5000/app:2" };
  await expect(decideJobImage(run, () => {}, recorder())).rejects.toThrow(
    /^cannot pull `reg:5000\/app:2` on node1 from reg:5000: no tag `2` in app \(manifest unknown\)$/,
  );
  expect(calls).toEqual(["resolve reg:5000/app:2"]);
});

test("a worker with a stale copy of the tag: pulls the digest, reports progress, names it as given", async () => {
  const announced = { ref: `reg:5000/app@${DIGEST}`, id: ID_A };
  const { engine, calls } = fakeEngine({}, { [`reg:5000/app@${DIGEST}`]: { id: ID_A, repoDigests: [] } });
  const said = recorder();
  const image = await fetchHere(step(engine, { id: ID_B, repoDigests: [] }), announced, said);
  expect(image.id).toBe(ID_A);
  expect(calls).toEqual([
    `find ${ID_A}`,
    `pull reg:5000/app@${DIGEST}`,
    `find reg:5000/app@${DIGEST}`,
    `tag ${ID_A} reg:5000/app:1`,
  ]);
  expect(said.said[0]).toBe("started");
  expect(said.said.at(-1)).toBe("finished 100");
});

test("a pull the registry refuses: one line naming the node, the image and the registry", async () => {
  const { engine } = fakeEngine({});
  const said = recorder();
  await expect(fetchHere(step(engine, undefined), { ref: `reg:5000/app@${DIGEST}` }, said)).rejects.toThrow(
    /^cannot pull `reg:5000\/app:1` on node2 from reg:5000: /,
  );
  expect(said.said).toEqual(["started", "failed"]);
});

test("a pulled image with another ID than the master's: refused, named", async () => {
  const { engine } = fakeEngine({}, { [`reg:5000/app@${DIGEST}`]: { id: ID_B, repoDigests: [] } });
  await expect(
    fetchHere(step(engine, undefined), { ref: `reg:5000/app@${DIGEST}`, id: ID_A }, recorder()),
  ).rejects.toThrow(/node2 has a different image for reg:5000\/app:1/);
});

test("an archive: loaded here, its ID checked", async () => {
  const { engine, calls } = fakeEngine({});
  const run = { ...step(engine, undefined), given: "/shared/app.tar" };
  const image = await fetchHere(
    { ...run, here: Promise.resolve(undefined) },
    { ref: ID_A, id: ID_A, archive: "/shared/app.tar" },
    recorder(),
  );
  expect(image).toMatchObject({ id: ID_A, runRef: ID_A });
  expect(calls).toContain("load /shared/app.tar");
});
