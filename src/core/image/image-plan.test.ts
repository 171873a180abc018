import { describe, expect, test } from "vitest";
import type { ImageAnnouncement } from "../rendezvous/index.js";
import type { LocalImage } from "./image-inspect.js";
import {
  announceResolved,
  checkImageId,
  masterImageStep,
  type NodeImageContext,
  type NodeImageStep,
  nodeImageStep,
} from "./image-plan.js";
import { parseImageSource } from "./image-reference.js";

const D1 = `sha256:${"1".repeat(64)}`;
const ID_A = `sha256:${"a".repeat(64)}`;
const ID_B = `sha256:${"b".repeat(64)}`;
const GIVEN = "reg:5000/test:1";
const src = (text: string) => parseImageSource(text);
const local = (id: string, repoDigests: string[] = []): LocalImage => ({ id, repoDigests });
const AT: NodeImageContext = { master: "node1" };

describe("masterImageStep", () => {
  test.each([
    [
      "always: the registry decides, whatever is here",
      "always",
      local(ID_A, [`reg:5000/test@${D1}`]),
      { kind: "resolve" },
    ],
    ["missing and absent: ask the registry", "missing", undefined, { kind: "resolve" }],
  ] as const)("%s", (_name, policy, here, step) => {
    expect(masterImageStep(src(GIVEN), policy, here, "node1", GIVEN)).toMatchObject(step);
  });

  test("missing and here, pulled from this repository: pinned to the digest it was pulled as, and its ID", () => {
    expect(masterImageStep(src(GIVEN), "missing", local(ID_A, [`reg:5000/test@${D1}`]), "node1", GIVEN)).toEqual({
      kind: "announce",
      image: { ref: `reg:5000/test@${D1}`, id: ID_A },
    });
  });

  test("Docker Hub's short RepoDigests match the qualified name", () => {
    expect(masterImageStep(src("ubuntu:22.04"), "missing", local(ID_A, [`ubuntu@${D1}`]), "n", "ubuntu:22.04")).toEqual(
      {
        kind: "announce",
        image: { ref: `docker.io/library/ubuntu@${D1}`, id: ID_A },
      },
    );
  });

  test("built here (no registry digest): the name as given and the ID every node must have", () => {
    expect(masterImageStep(src("app:dev"), "missing", local(ID_A), "node1", "app:dev")).toEqual({
      kind: "announce",
      image: { ref: "app:dev", id: ID_A },
    });
    expect(masterImageStep(src("app:dev"), "never", local(ID_A), "node1", "app:dev")).toMatchObject({
      image: { id: ID_A },
    });
  });

  test("a digest reference needs no registry round trip", () => {
    expect(masterImageStep(src(`reg:5000/test@${D1}`), "missing", undefined, "node1", "x")).toEqual({
      kind: "announce",
      image: { ref: `reg:5000/test@${D1}` },
    });
  });

  test("an archive is loaded on the master first; an image ID must be here", () => {
    expect(masterImageStep(src("/shared/img.tar"), "missing", undefined, "node1", "/shared/img.tar")).toEqual({
      kind: "load",
      path: "/shared/img.tar",
    });
    expect(() => masterImageStep(src(ID_A), "missing", undefined, "node1", ID_A)).toThrow(
      /node1 does not have the image sha256:a+ \(an image ID names a local image, never pulled\)/,
    );
  });

  test("--pull=never and absent: one line naming the node and the image", () => {
    expect(() => masterImageStep(src(GIVEN), "never", undefined, "node1", GIVEN)).toThrow(
      "node1 does not have the image reg:5000/test:1 (--pull=never)",
    );
  });
});

test("announceResolved pins the tag to the registry's digest", () => {
  const ref = src(GIVEN);
  if (ref.kind !== "registry") throw new Error("test setup");
  expect(announceResolved(ref.ref, { digest: D1, id: ID_A })).toEqual({ ref: `reg:5000/test@${D1}`, id: ID_A });
  expect(announceResolved(ref.ref, { digest: D1, id: undefined })).toEqual({ ref: `reg:5000/test@${D1}` });
});

describe("nodeImageStep", () => {
  const pinned = { ref: `reg:5000/test@${D1}`, id: ID_A };

  test.each([
    ["the same image here: use it", pinned, local(ID_A), "missing", { kind: "use", id: ID_A }],
    ["not here: pull the digest", pinned, undefined, "missing", { kind: "pull", ref: pinned.ref }],
    ["a stale copy of the tag here: pull the digest, never use it", pinned, local(ID_B), "missing", { kind: "pull" }],
    ["--pull=always: the same ID here is still enough", pinned, local(ID_A), "always", { kind: "use" }],
    ["an ID not known yet: whatever the digest gives", { ref: pinned.ref }, local(ID_B), "missing", { kind: "use" }],
    ["an archive: load it", { ref: ID_A, id: ID_A, archive: "/s/i.tar" }, undefined, "missing", { kind: "load" }],
  ] as const)("%s", (_name, image, here, policy, step) => {
    expect(nodeImageStep(image, here, policy, "node2", GIVEN, AT)).toMatchObject(step);
  });

  test.each([
    [
      "not here: from the parent, the digest to pull should that fail",
      pinned,
      undefined,
      { kind: "relay", fallback: pinned.ref },
    ],
    ["a stale copy of the tag here: from the parent", pinned, local(ID_B), { kind: "relay", fallback: pinned.ref }],
    [
      "a build that is in no registry: from the parent, nothing to fall back on",
      { ref: "app:dev", id: ID_A },
      undefined,
      { kind: "relay", fallback: undefined },
    ],
    [
      "a digest without the image ID: from the registry, never from a parent (nothing to check it by)",
      { ref: pinned.ref },
      undefined,
      { kind: "pull", ref: pinned.ref },
    ],
    ["the same image here: use it (and serve it)", pinned, local(ID_A), { kind: "use", id: ID_A }],
    ["an archive: every node loads it", { ref: ID_A, id: ID_A, archive: "/s/i.tar" }, undefined, { kind: "load" }],
  ] as const)("--pull-once, %s", (_name, image, here, step) => {
    expect(nodeImageStep(image, here, "missing", "node2", GIVEN, { ...AT, fromPeer: true })).toMatchObject(step);
  });

  test("--pull=never and absent, or a local build the master has and this node lacks: one line naming the node", () => {
    expect(() => nodeImageStep(pinned, undefined, "never", "node2", GIVEN, AT)).toThrow(
      "node2 does not have the image reg:5000/test:1 (--pull=never)",
    );
    expect(() => nodeImageStep({ ref: "app:dev", id: ID_A }, undefined, "missing", "node2", "app:dev", AT)).toThrow(
      /node2 does not have the image app:dev \(it is in no registry/,
    );
  });

  describe("the same tag built on each node: another build here", () => {
    const build = { ref: "app", id: ID_A };
    const own = { ...AT, tagged: local(ID_B) };

    test("named with both IDs, and both ways out", () => {
      expect(() => nodeImageStep(build, undefined, "missing", "node2", "app", own)).toThrow(
        expect.objectContaining({
          code: "image-another-build",
          message: "node2's app is another build (sha256:bbbbbbbbbbbb there, sha256:aaaaaaaaaaaa on node1)",
          hint: expect.stringMatching(/^--pull-once copies node1's build .* as docker pull would\); --image-per-node/),
        }),
      );
      expect(() => nodeImageStep(build, undefined, "never", "node2", "app", own)).toThrow(/another build/);
    });

    test.each<[string, Partial<NodeImageContext>, NodeImageStep]>([
      [
        "--pull-once: from the parent, nothing to fall back on",
        { fromPeer: true },
        { kind: "relay", fallback: undefined },
      ],
      ["--image-per-node: its own", { perNode: true }, { kind: "own", image: local(ID_B) }],
    ])("%s", (_name, context, expected) => {
      expect(nodeImageStep(build, undefined, "missing", "node2", "app", { ...own, ...context })).toEqual(expected);
    });

    test.each<[string, ImageAnnouncement, LocalImage | undefined, Partial<NodeImageContext>, NodeImageStep["kind"]]>([
      ["--image-per-node, the job's own build here: that", build, local(ID_A), { perNode: true }, "use"],
      [
        "--image-per-node, no copy here: the job's from the parent",
        build,
        undefined,
        { perNode: true, tagged: undefined, fromPeer: true },
        "relay",
      ],
      [
        "--image-per-node, a registry image missing here: its digest",
        pinned,
        undefined,
        { perNode: true, tagged: undefined },
        "pull",
      ],
    ])("%s", (_name, image, here, context, kind) => {
      expect(nodeImageStep(image, here, "missing", "node2", "app", { ...own, ...context }).kind).toBe(kind);
    });
  });

  test("checkImageId after a pull", () => {
    expect(() => checkImageId(pinned, ID_A, "node2", GIVEN)).not.toThrow();
    expect(() => checkImageId(pinned, ID_B, "node2", GIVEN)).toThrow(/node2 has a different image/);
    expect(() => checkImageId({ ref: pinned.ref }, ID_B, "node2", GIVEN)).not.toThrow();
  });
});
