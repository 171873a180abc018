import { describe, expect, test } from "vitest";
import { buildSwitchedCommand, SWITCH_MOUNT } from "./dead-man-switch.js";
import {
  buildDockerExecArgs,
  buildDockerRunArgs,
  buildMainCommand,
  type ContainerPlan,
  type MainProcess,
} from "./docker-args.js";

const USER = { uid: 1001, gid: 1001, name: "alice", home: "/home/alice", groups: [27, 998] };
const PLAN: ContainerPlan = {
  runtime: "docker",
  name: "srun-docker-alice-42.0-node1",
  labels: { "srun-docker": "1", "srun-docker.job": "42" },
  image: "img:1",
  user: USER,
  passwdFile: "/home/alice/.srun-docker/jobs/42/passwd",
  groupFile: "/home/alice/.srun-docker/jobs/42/group",
  sshClientConfig: undefined,
  workdir: "/home/alice/work",
  network: "host",
  gpus: { deviceIds: [], runtime: "docker" },
  privileged: false,
  ibdevices: false,
  datamnts: [],
  envNames: [],
  env: {},
  shmSize: "1g",
  memlock: { kind: "unlimited" },
  dockopts: [],
  command: ["sleep", "infinity"],
  detach: true,
};

const HEAD = [
  "run",
  "-d",
  "--init",
  "--name",
  "srun-docker-alice-42.0-node1",
  "--label",
  "srun-docker=1",
  "--label",
  "srun-docker.job=42",
  "--net=host",
];
const AS_USER = [
  "-u",
  "1001:1001",
  "--group-add",
  "27",
  "--group-add",
  "998",
  "-e",
  "HOME=/home/alice",
  "-e",
  "USER=alice",
  "-v",
  "/home/alice:/home/alice",
  "-v",
  "/home/alice/.srun-docker/jobs/42/passwd:/etc/passwd:ro",
  "-v",
  "/home/alice/.srun-docker/jobs/42/group:/etc/group:ro",
];
const LIMITS = ["--shm-size=1g", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864", "-w", "/home/alice/work"];

describe("buildDockerRunArgs", () => {
  test("the default plan, in full", () => {
    expect(buildDockerRunArgs(PLAN)).toEqual([...HEAD, ...AS_USER, ...LIMITS, "img:1", "sleep", "infinity"]);
  });

  // Each row: plan changes → the arguments between the limits and the image.
  test.each<[string, Partial<ContainerPlan>, string[]]>([
    ["docker GPUs", { gpus: { deviceIds: ["0", "1"], runtime: "docker" } }, ["--gpus", '"device=0,1"']],
    ["all GPUs", { gpus: { deviceIds: "all", runtime: "docker" } }, ["--gpus", "all"]],
    [
      "nvidia-docker2",
      { gpus: { deviceIds: ["0", "1"], runtime: "nvidia" } },
      ["--runtime=nvidia", "-e", "NVIDIA_VISIBLE_DEVICES=0,1"],
    ],
    [
      "nvidia-docker2 all",
      { gpus: { deviceIds: "all", runtime: "nvidia" } },
      ["--runtime=nvidia", "-e", "NVIDIA_VISIBLE_DEVICES=all"],
    ],
    ["privileged", { privileged: true }, ["--privileged"]],
    ["ibdevices", { ibdevices: true }, ["--cap-add=IPC_LOCK", "--device=/dev/infiniband"]],
    ["datamnts", { datamnts: ["/data", "/scratch"] }, ["-v", "/data:/data", "-v", "/scratch:/scratch"]],
    [
      "mounts",
      {
        mounts: [
          { source: "/a", target: "/b", readOnly: true },
          { source: "/c", target: "/d" },
        ],
      },
      ["-v", "/a:/b:ro", "-v", "/c:/d"],
    ],
    [
      "a masked directory, and a mount back into it",
      {
        datamnts: ["/data"],
        masks: ["/home/alice/.srun-docker"],
        mounts: [{ source: "/home/alice/.srun-docker/jobs/42", target: "/home/alice/.srun-docker/jobs/42" }],
      },
      [
        "-v",
        "/data:/data",
        "--tmpfs",
        "/home/alice/.srun-docker:ro,uid=1001,gid=1001",
        "-v",
        "/home/alice/.srun-docker/jobs/42:/home/alice/.srun-docker/jobs/42",
      ],
    ],
    ["extra groups", { extraGroups: [999] }, ["--group-add", "999"]],
    ["envlist names", { envNames: ["V1", "V2"] }, ["-e", "V1", "-e", "V2"]],
    ["env values", { env: { hostlist: "a:1", np: "1" } }, ["-e", "hostlist=a:1", "-e", "np=1"]],
    ["entrypoint", { entrypoint: "bash" }, ["--entrypoint=bash"]],
    ["dockopts last", { dockopts: ["--ipc=host", "-e", "X=a b"] }, ["--ipc=host", "-e", "X=a b"]],
  ])("%s", (_what, change, middle) => {
    expect(buildDockerRunArgs({ ...PLAN, ...change })).toEqual([
      ...HEAD,
      ...AS_USER,
      ...LIMITS,
      ...middle,
      "img:1",
      "sleep",
      "infinity",
    ]);
  });

  test.each<[string, Partial<ContainerPlan>, string[]]>([
    [
      "memlock off",
      { memlock: { kind: "off" } },
      ["--shm-size=1g", "--ulimit", "stack=67108864", "-w", "/home/alice/work"],
    ],
    [
      "memlock bytes",
      { memlock: { kind: "bytes", bytes: 1024 } },
      ["--shm-size=1g", "--ulimit", "memlock=1024", "--ulimit", "stack=67108864", "-w", "/home/alice/work"],
    ],
    [
      "image workdir",
      { workdir: undefined },
      ["--shm-size=1g", "--ulimit", "memlock=-1", "--ulimit", "stack=67108864"],
    ],
  ])("%s", (_what, change, limits) => {
    expect(buildDockerRunArgs({ ...PLAN, ...change })).toEqual([
      ...HEAD,
      ...AS_USER,
      ...limits,
      "img:1",
      "sleep",
      "infinity",
    ]);
  });

  test("ssh client config is mounted as the system ssh_config", () => {
    const args = buildDockerRunArgs({ ...PLAN, sshClientConfig: "/j/ssh_config" });
    expect(args.slice(HEAD.length + AS_USER.length, HEAD.length + AS_USER.length + 2)).toEqual([
      "-v",
      "/j/ssh_config:/etc/ssh/ssh_config:ro",
    ]);
  });

  test("podman: keep-id instead of -u and groups, CDI GPUs", () => {
    const args = buildDockerRunArgs({ ...PLAN, runtime: "podman", gpus: { deviceIds: ["0", "1"], runtime: "docker" } });
    expect(args).toEqual([
      ...HEAD,
      "--userns=keep-id",
      ...AS_USER.slice(6),
      "--shm-size=1g",
      "--ulimit",
      "stack=67108864",
      "-w",
      "/home/alice/work",
      "--device",
      "nvidia.com/gpu=0",
      "--device",
      "nvidia.com/gpu=1",
      "img:1",
      "sleep",
      "infinity",
    ]);
  });

  test.each<[string, Partial<ContainerPlan>, string]>([
    ["docker: the user's, so the user may cross it (it takes the 0700 of what it covers)", {}, "ro,uid=1001,gid=1001"],
    ["docker, the image's user", { user: undefined }, "ro"],
    ["podman: the user's (U), and nothing of what it covers copied in", { runtime: "podman" }, "ro,notmpcopyup,U"],
    ["podman, the image's user", { runtime: "podman", user: undefined }, "ro,notmpcopyup"],
  ])("a mask's tmpfs, %s", (_what, change, options) => {
    const args = buildDockerRunArgs({ ...PLAN, ...change, masks: ["/home/alice/.srun-docker"] });
    expect(args.filter((_a, i) => args[i - 1] === "--tmpfs")).toEqual([`/home/alice/.srun-docker:${options}`]);
  });

  test("podman: memlock unlimited keeps the caller's limits (rootless cannot raise them); bytes as asked", () => {
    expect(buildDockerRunArgs({ ...PLAN, runtime: "podman" })).not.toContain("memlock=-1");
    expect(buildDockerRunArgs({ ...PLAN, runtime: "podman", memlock: { kind: "bytes", bytes: 1024 } })).toContain(
      "memlock=1024",
    );
  });

  test("the image's user: no identity options at all", () => {
    expect(buildDockerRunArgs({ ...PLAN, user: undefined })).toEqual([
      ...HEAD,
      ...LIMITS,
      "img:1",
      "sleep",
      "infinity",
    ]);
  });

  test("asuser-style container in the foreground, removed when it exits", () => {
    const args = buildDockerRunArgs({
      ...PLAN,
      detach: false,
      remove: true,
      network: undefined,
      command: ["bash"],
    });
    expect(args.slice(0, 6)).toEqual(["run", "--rm", "--init", "--name", "srun-docker-alice-42.0-node1", "--label"]);
    expect(args).not.toContain("--net=host");
    expect(args.at(-1)).toBe("bash");
  });

  test("with a switch dir: --rm, the dir mounted, the main command under the switch's sh", () => {
    const args = buildDockerRunArgs({
      ...PLAN,
      command: ["/usr/sbin/sshd", "-D"],
      switchDir: "/j/switch",
      dockopts: ["--cpus=2"],
    });
    const { entrypoint, command } = buildSwitchedCommand(["/usr/sbin/sshd", "-D"]);
    expect(args.slice(0, 4)).toEqual(["run", "-d", "--rm", "--init"]);
    const tail = ["-v", `/j/switch:${SWITCH_MOUNT}`, `--entrypoint=${entrypoint}`, "--cpus=2", "img:1", ...command];
    expect(args.slice(-tail.length)).toEqual(tail);
    expect(command.slice(-2)).toEqual(["/usr/sbin/sshd", "-D"]);
  });
});

test.each<[MainProcess, string[]]>([
  [
    { kind: "sshd", ports: [20000, 27415], configPath: "/j/sshd_config" },
    [
      "/bin/sh",
      "-c",
      expect.stringContaining("/usr/sbin/sshd -D -e"),
      "srun-docker-sshd",
      "/j/sshd_config",
      "20000",
      "27415",
    ],
  ],
  [
    { kind: "agent", serverPath: "/opt/srun-docker/bin/srun-docker" },
    ["/opt/srun-docker/bin/srun-docker", "agent-server"],
  ],
  [{ kind: "none" }, []],
])("buildMainCommand(%j)", (main, expected) => expect(buildMainCommand(main)).toEqual(expected));

test.each<[Parameters<typeof buildDockerExecArgs>[0], string[]]>([
  [
    {
      name: "c",
      user: { uid: 1, gid: 2 },
      workdir: "/w",
      env: { np: "4", hostlist: "a:2,b:2" },
      command: ["./job.sh", "a b", "--x=1"],
    },
    ["exec", "-u", "1:2", "-w", "/w", "-e", "np=4", "-e", "hostlist=a:2,b:2", "c", "./job.sh", "a b", "--x=1"],
  ],
  [
    { name: "c", user: undefined, workdir: undefined, env: {}, command: ["bash"], interactive: true, tty: true },
    ["exec", "-i", "-t", "c", "bash"],
  ],
])("buildDockerExecArgs %#", (plan, expected) => expect(buildDockerExecArgs(plan)).toEqual(expected));
