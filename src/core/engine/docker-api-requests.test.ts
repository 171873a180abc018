import { expect, test } from "vitest";
import {
  buildExecConfig,
  containerListPath,
  containerLogsPath,
  imageInspectPath,
  parseContainerList,
  parseCreatedId,
  parseExecState,
  parseImageInspect,
} from "./docker-api-requests.js";
import type { ExecPlan } from "./docker-args.js";

test.each([
  ["ubuntu:22.04", "/images/ubuntu%3A22.04/json"],
  ["registry.local:5000/team/img:1", "/images/registry.local%3A5000/team/img%3A1/json"],
  ["img@sha256:ab12", "/images/img%40sha256%3Aab12/json"],
  ["odd?name#x", "/images/odd%3Fname%23x/json"],
])("imageInspectPath(%s) keeps the repository's slashes and escapes the rest", (image, expected) => {
  expect(imageInspectPath(image)).toBe(expected);
});

test("the container list asks for every container (-a) with all the labels", () => {
  const path = containerListPath({ "srun-docker": "1", "srun-docker.uid": "1001" });
  const url = new URL(path, "http://docker");
  expect(url.pathname).toBe("/containers/json");
  expect(url.searchParams.get("all")).toBe("1");
  expect(JSON.parse(url.searchParams.get("filters") ?? "")).toEqual({
    label: ["srun-docker=1", "srun-docker.uid=1001"],
  });
});

test("logs: stdout and stderr, the last lines only", () => {
  expect(containerLogsPath("srun-docker-a/b", 5)).toBe("/containers/srun-docker-a%2Fb/logs?stdout=1&stderr=1&tail=5");
});

const PLAN: ExecPlan = {
  name: "c",
  user: { uid: 1, gid: 2 },
  workdir: "/w",
  env: { A: "1", B: "x=y" },
  envNames: ["SET", "UNSET"],
  command: ["prog", "a b"],
};

test.each<[string, ExecPlan, boolean, object]>([
  [
    "the script: attached, no stdin, named variables from our env (bare when unset), then the plan's",
    PLAN,
    true,
    {
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: "1:2",
      WorkingDir: "/w",
      Env: ["SET=here", "UNSET", "A=1", "B=x=y"],
      Cmd: ["prog", "a b"],
    },
  ],
  [
    "-i attaches stdin",
    { ...PLAN, interactive: true },
    true,
    { AttachStdin: true, AttachStdout: true, AttachStderr: true },
  ],
  [
    "a detached helper attaches nothing",
    { ...PLAN, interactive: true },
    false,
    { AttachStdin: false, AttachStdout: false, AttachStderr: false },
  ],
])("buildExecConfig: %s", (_what, plan, attach, expected) => {
  expect(buildExecConfig(plan, { SET: "here" }, attach)).toMatchObject(expected);
});

test("buildExecConfig leaves out the user and workdir the plan leaves to the container", () => {
  const config = buildExecConfig({ name: "c", user: undefined, workdir: undefined, env: {}, command: ["id"] }, {});
  expect(config).toEqual({
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    Env: [],
    Cmd: ["id"],
  });
});

test.each([
  [
    { Id: "sha256:1", Config: { Env: ["A=1", "PATH=/opt/bin:/usr/bin"] } },
    { id: "sha256:1", path: "/opt/bin:/usr/bin" },
  ],
  [
    { Id: "sha256:2", Config: { Env: null } },
    { id: "sha256:2", path: undefined },
  ],
  [
    { Id: "sha256:3", Config: null },
    { id: "sha256:3", path: undefined },
  ],
  [
    { Id: "sha256:4", Config: { Env: ["PATH="] } },
    { id: "sha256:4", path: undefined },
  ],
])("parseImageInspect(%j)", (body, expected) => {
  expect(parseImageInspect(JSON.stringify(body))).toEqual(expected);
});

test("parseContainerList: names without their slash, a link name skipped, labels as a map", () => {
  const body = [
    { Names: ["/web/db-alias", "/db"], Labels: { a: "1" } },
    { Names: ["/solo"], Labels: null },
    { Names: ["/x/only-link"], Labels: {} },
  ];
  expect(parseContainerList(JSON.stringify(body))).toEqual([
    { name: "db", labels: { a: "1" } },
    { name: "solo", labels: {} },
    { name: "x/only-link", labels: {} },
  ]);
  expect(parseContainerList("[]")).toEqual([]);
  expect(() => parseContainerList("{}")).toThrow(/not a JSON array/);
});

test("parseExecState and parseCreatedId", () => {
  expect(parseExecState('{"Running":true,"ExitCode":null}')).toEqual({ running: true, exitCode: undefined });
  expect(parseExecState('{"Running":false,"ExitCode":126}')).toEqual({ running: false, exitCode: 126 });
  expect(parseCreatedId('{"Id":"abc","Warnings":[]}')).toBe("abc");
  expect(() => parseCreatedId("{}")).toThrow(/no Id/);
});
