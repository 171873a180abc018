import { expect, test } from "vitest";
import { boundCpuList, buildTaskExecArgs, taskPidFile, taskPidName } from "./task-exec.js";

test("a task's exec: its uid, cwd, its variables by name, PyTorch's by value, its pid recorded, then the program", () => {
  const args = buildTaskExecArgs({
    containerName: "c-node1",
    user: { uid: 1001, gid: 1001 },
    cwd: "/home/alice/w",
    task: { rank: 3, localRank: 1, worldSize: 4, localSize: 2, nodeIndex: 1 },
    taskEnv: { PMIX_RANK: "3", SLURM_PROCID: "3", HOME: "/home/alice" },
    master: { addr: "node1", port: 21010 },
    nodeCount: 2,
    boundCpus: undefined,
    containerDevices: [],
    command: ["python3", "app.py", "--epochs", "2"],
  });
  expect(args).toEqual([
    "exec",
    "-u",
    "1001:1001",
    "-w",
    "/home/alice/w",
    "-e",
    "PMIX_RANK",
    "-e",
    "SLURM_PROCID",
    ...["RANK=3", "LOCAL_RANK=1", "WORLD_SIZE=4", "LOCAL_WORLD_SIZE=2", "NODE_RANK=1", "NNODES=2"].flatMap((e) => [
      "-e",
      e,
    ]),
    "-e",
    "MASTER_ADDR=node1",
    "-e",
    "MASTER_PORT=21010",
    "c-node1",
    "/bin/sh",
    "-c",
    expect.stringMatching(/^echo \$\$ >"\$0" && .*taskset -c "\$SRUN_DOCKER_TASK_CPUS" "\$@"; fi; exec "\$@"$/),
    "/run/srun-docker/task-1.pid",
    "python3",
    "app.py",
    "--epochs",
    "2",
  ]);
});

test.each<[string, number, string | undefined]>([
  ["Cpus_allowed_list:\t0-3\n", 4, undefined],
  ["Cpus_allowed_list:\t2\n", 4, "2"],
  ["Cpus_allowed_list:\t0-1,4\n", 8, "0-1,4"],
  ["nothing\n", 4, undefined],
])("boundCpuList(%j, %i)", (status, online, bound) => {
  expect(boundCpuList(status, online)).toBe(bound);
});

test("a bound task's CPUs go in as SRUN_DOCKER_TASK_CPUS", () => {
  const args = buildTaskExecArgs({
    containerName: "c",
    user: { uid: 1, gid: 1 },
    cwd: "/",
    task: { rank: 0, localRank: 0, worldSize: 1, localSize: 1, nodeIndex: 0 },
    taskEnv: {},
    master: { addr: "n", port: 1 },
    nodeCount: 1,
    boundCpus: "2,3",
    containerDevices: [],
    command: ["true"],
  });
  expect(args).toEqual(expect.arrayContaining(["-e", "SRUN_DOCKER_TASK_CPUS=2,3"]));
});

test("a task on a terminal (srun --pty) gets one in the container: -i -t, nothing else changes", () => {
  const input = {
    containerName: "c",
    user: { uid: 1, gid: 1 },
    cwd: "/",
    task: { rank: 0, localRank: 0, worldSize: 1, localSize: 1, nodeIndex: 0 },
    taskEnv: {},
    master: { addr: "n", port: 1 },
    nodeCount: 1,
    boundCpus: undefined,
    containerDevices: [],
    command: ["bash"],
  };
  const plain = buildTaskExecArgs(input);
  expect(buildTaskExecArgs({ ...input, terminal: true })).toEqual(["exec", "-i", "-t", ...plain.slice(1)]);
  expect(plain).not.toContain("-t");
});

test("in a container steps share (--container-name), each step's tasks record their pids apart", () => {
  expect(taskPidName(1)).toBe("task-1.pid");
  expect(taskPidName(1, "42.3")).toBe("task-42.3-1.pid");
  expect(taskPidFile(0, "42.3")).toBe("/run/srun-docker/task-42.3-0.pid");
  const args = buildTaskExecArgs({
    containerName: "c",
    user: { uid: 1, gid: 1 },
    cwd: "/",
    task: { rank: 0, localRank: 0, worldSize: 1, localSize: 1, nodeIndex: 0 },
    taskEnv: {},
    master: { addr: "node1", port: 1 },
    nodeCount: 1,
    boundCpus: undefined,
    containerDevices: [],
    command: ["true"],
    sharedBy: "42.3",
  });
  expect(args.slice(-2)).toEqual(["/run/srun-docker/task-42.3-0.pid", "true"]);
});
