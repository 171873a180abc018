import { describe, expect, test } from "vitest";
import { type ContainerShape, DEFAULT_SHAPE, resolveShapeMounts, unsupportedMountFlag } from "./container-shape.js";
import { buildDockerRunArgs, type ContainerPlan } from "./docker-args.js";

const USER = { uid: 1001, gid: 1001, name: "alice", home: "/home/alice", groups: [27] };
const PLAN: ContainerPlan = {
  runtime: "docker",
  name: "c",
  labels: {},
  image: "img:1",
  user: USER,
  passwdFile: "/j/passwd",
  groupFile: undefined,
  sshClientConfig: undefined,
  workdir: "/w",
  network: undefined,
  gpus: { deviceIds: [], runtime: "docker" },
  privileged: false,
  ibdevices: false,
  datamnts: [],
  envNames: [],
  env: {},
  shmSize: "1g",
  memlock: { kind: "off" },
  dockopts: [],
  command: [],
  detach: false,
};

function runArgs(runtime: "docker" | "podman", shape: Partial<ContainerShape>): string[] {
  return buildDockerRunArgs({ ...PLAN, runtime, shape: { ...DEFAULT_SHAPE, ...shape } });
}

const HEAD = ["run", "--init", "--name", "c"];
const TAIL = ["--shm-size=1g", "--ulimit", "stack=67108864", "-w", "/w"];

describe("the container's shape, as each engine's argv", () => {
  test.each<[string, "docker" | "podman", Partial<ContainerShape>, string[]]>([
    [
      "docker, the default: the caller, home mounted",
      "docker",
      {},
      ["-u", "1001:1001", "--group-add", "27", "-e", "HOME=/home/alice", "-e", "USER=alice"],
    ],
    ["podman, the default", "podman", {}, ["--userns=keep-id", "-e", "HOME=/home/alice", "-e", "USER=alice"]],
    ["docker, remap-root", "docker", { remapRoot: true }, ["-u", "0:0", "-e", "HOME=/root", "-e", "USER=root"]],
    // Rootless podman's own namespace maps its root to the caller: no keep-id.
    ["podman, remap-root", "podman", { remapRoot: true }, ["-u", "0:0", "-e", "HOME=/root", "-e", "USER=root"]],
  ])("%s", (_, runtime, shape, user) => {
    expect(runArgs(runtime, shape)).toEqual([
      ...HEAD,
      ...user,
      "-v",
      "/home/alice:/home/alice",
      "-v",
      "/j/passwd:/etc/passwd:ro",
      ...TAIL,
      "img:1",
    ]);
  });

  test("no home mount: neither engine mounts it", () => {
    for (const runtime of ["docker", "podman"] as const) {
      expect(runArgs(runtime, { mountHome: false })).not.toContain("/home/alice:/home/alice");
    }
    expect(runArgs("docker", { mountHome: false })).toEqual([
      ...HEAD,
      ...["-u", "1001:1001", "--group-add", "27", "-e", "HOME=/home/alice", "-e", "USER=alice"],
      ...["-v", "/j/passwd:/etc/passwd:ro"],
      ...TAIL,
      "img:1",
    ]);
  });

  test("read-only: Docker gets the tmpfs Podman mounts by itself", () => {
    const betweenWorkdirAndImage = (args: string[]) => args.slice(args.indexOf("/w") + 1, args.indexOf("img:1"));
    expect(betweenWorkdirAndImage(runArgs("docker", { readOnly: true }))).toEqual([
      "--read-only",
      "--tmpfs",
      "/tmp",
      "--tmpfs",
      "/var/tmp",
    ]);
    expect(betweenWorkdirAndImage(runArgs("podman", { readOnly: true }))).toEqual(["--read-only"]);
  });

  test("mounts: binds with their flags, tmpfs, rbind and x-create dropped", () => {
    const mounts = [
      { kind: "bind", source: "/data", target: "/data", flags: ["ro", "rprivate", "rbind"] },
      { kind: "bind", source: "/scratch", target: "/s", flags: [] },
      { kind: "tmpfs", target: "/cache", flags: ["size=64m", "x-create=dir"] },
    ] as const;
    const args = runArgs("docker", { mounts });
    expect(args.slice(args.indexOf("/w") + 1, args.indexOf("img:1"))).toEqual([
      "-v",
      "/data:/data:ro,rprivate",
      "-v",
      "/scratch:/s",
      "--tmpfs",
      "/cache:size=64m",
    ]);
  });
});

describe("unsupportedMountFlag", () => {
  test.each<[string, "docker" | "podman", string[], string | undefined]>([
    ["ro+rprivate on docker", "docker", ["ro", "rprivate"], undefined],
    ["nosuid on docker", "docker", ["ro", "nosuid"], "nosuid"],
    ["nosuid on podman", "podman", ["ro", "nosuid"], undefined],
    ["non-recursive bind on docker", "docker", ["bind"], "bind"],
    ["runbindable on podman", "podman", ["runbindable"], undefined],
    ["an unknown flag on podman", "podman", ["ro", "x-detach"], "x-detach"],
  ])("%s", (_, runtime, flags, expected) => {
    expect(unsupportedMountFlag({ kind: "bind", source: "/a", target: "/a", flags }, runtime)).toBe(expected);
  });
});

test("a relative bind source is the caller's directory's", () => {
  const shape = { ...DEFAULT_SHAPE, mounts: [{ kind: "bind", source: "./data", target: "/data", flags: [] }] as const };
  expect(resolveShapeMounts(shape, "/home/alice/proj").mounts).toEqual([
    { kind: "bind", source: "/home/alice/proj/data", target: "/data", flags: [] },
  ]);
});
