import { describe, expect, it } from "vitest";
import { buildContainerName } from "../engine/index.js";
import { buildCommitArgs, buildSaveArgs, parseImageRunConfig, savedImageTag } from "./container-save.js";
import {
  CONTAINER_NAME_RE,
  chooseNamedContainer,
  describeNamedChoice,
  namedContainerStep,
  namedLabels,
} from "./named-container.js";

const wanted = { name: "train", image: "ubuntu:22.04", node: "node2" };
const summary = (labels: Record<string, string>) => ({ name: "srun-docker-carol-42.name-train-node2", labels });

describe("a named container", () => {
  it("is keyed like a step, with name-NAME in the step's place", () => {
    expect(namedContainerStep("train")).toBe("name-train");
    const name = buildContainerName({
      dockname: undefined,
      user: "carol",
      jobId: "42",
      stepId: namedContainerStep("train"),
      restartCount: 2,
      node: "node2",
    });
    expect(name).toBe("srun-docker-carol-42.name-train.r2-node2");
  });

  it.each([
    ["train", true],
    ["a_b-1", true],
    ["x.r3", false],
    ["-x", false],
    ["a/b", false],
    ["", false],
    ["a".repeat(64), false],
  ])("accepts %j as a name: %s", (name, ok) => {
    expect(CONTAINER_NAME_RE.test(name)).toBe(ok);
  });

  it("labels the image as given and the GPUs", () => {
    expect(namedLabels("train", "ubuntu:22.04", ["0", "1"])).toEqual({
      "srun-docker.name": "train",
      "srun-docker.image": "ubuntu:22.04",
      "srun-docker.devices": "0,1",
    });
    expect(namedLabels("t", "i", "all")["srun-docker.devices"]).toBe("all");
  });
});

describe("create or reuse", () => {
  const labels = namedLabels("train", "ubuntu:22.04", ["1"]);
  it.each([
    ["none on the node", undefined, { kind: "create" }],
    ["one that ended (on its way out)", { summary: summary(labels), running: false }, { kind: "create" }],
    [
      "one running from the same image",
      { summary: summary(labels), running: true },
      { kind: "reuse", container: "srun-docker-carol-42.name-train-node2", devices: ["1"] },
    ],
    [
      "one without GPUs",
      { summary: summary(namedLabels("train", "ubuntu:22.04", [])), running: true },
      { kind: "reuse", container: "srun-docker-carol-42.name-train-node2", devices: [] },
    ],
  ])("%s", (_, found, choice) => {
    expect(chooseNamedContainer(found, wanted)).toEqual(choice);
  });

  it("refuses another image, naming the node and both images", () => {
    const found = { summary: summary(namedLabels("train", "alpine:3", "all")), running: true };
    const choice = chooseNamedContainer(found, wanted);
    expect(choice).toEqual({
      kind: "mismatch",
      message: "node2: container `train` runs `alpine:3`, not `ubuntu:22.04`",
      hint: "give --container=alpine:3 to run in it, or another --container-name for ubuntu:22.04",
    });
  });

  it("says in the dry run which it would do", () => {
    expect(describeNamedChoice({ kind: "create" }, "train", "node1")).toBe(
      "container `train` on node1: create (the job has none there yet); later steps reuse it",
    );
    expect(describeNamedChoice({ kind: "reuse", container: "c", devices: [] }, "train", "node1")).toBe(
      "container `train` on node1: reuse c (exec, no new container)",
    );
  });
});

describe("--container-save", () => {
  it("reads an image's config", () => {
    expect(parseImageRunConfig('{"Entrypoint":["/init"],"Cmd":null,"WorkingDir":"/w","User":"app"}')).toEqual({
      entrypoint: ["/init"],
      cmd: null,
      workdir: "/w",
      user: "app",
    });
    expect(parseImageRunConfig("null")).toEqual({ entrypoint: null, cmd: null, workdir: "", user: "" });
  });

  it("commits with the image's entrypoint and command back, and our labels blanked", () => {
    const image = { entrypoint: null, cmd: ["bash"], workdir: "", user: "" };
    expect(buildCommitArgs("c1", "localhost/srun-docker-saved:42.0", image)).toEqual([
      "commit",
      "--change",
      'ENTRYPOINT [""]',
      "--change",
      'CMD ["bash"]',
      "--change",
      "WORKDIR /",
      "--change",
      "USER root",
      ...[
        "srun-docker",
        "srun-docker.version",
        "srun-docker.job",
        "srun-docker.step",
        "srun-docker.node",
        "srun-docker.uid",
        "srun-docker.user",
        "srun-docker.restart",
        "srun-docker.name",
        "srun-docker.image",
        "srun-docker.devices",
      ].flatMap((label) => ["--change", `LABEL ${label}=""`]),
      "c1",
      "localhost/srun-docker-saved:42.0",
    ]);
  });

  it("keeps an image's own entrypoint", () => {
    const image = { entrypoint: ["/init", "-v"], cmd: null, workdir: "/app", user: "1000" };
    expect(buildCommitArgs("c1", "t", image).slice(0, 9)).toEqual([
      "commit",
      "--change",
      'ENTRYPOINT ["/init","-v"]',
      "--change",
      "CMD []",
      "--change",
      "WORKDIR /app",
      "--change",
      "USER 1000",
    ]);
  });

  it("saves the tag into the file", () => {
    expect(buildSaveArgs("t", "/home/carol/x.tar")).toEqual(["save", "-o", "/home/carol/x.tar", "t"]);
    expect(savedImageTag("42.0.r1")).toBe("localhost/srun-docker-saved:42.0.r1");
  });
});
