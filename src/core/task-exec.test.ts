import { expect, test } from "vitest";
import { buildTaskExecArgs } from "./task-exec.js";

test("a task's exec: its uid, cwd, its variables by name, PyTorch's by value, its pid recorded, then the program", () => {
  const args = buildTaskExecArgs({
    containerName: "c-node1",
    user: { uid: 1001, gid: 1001 },
    cwd: "/home/alice/w",
    task: { rank: 3, localRank: 1, worldSize: 4, localSize: 2, nodeIndex: 1 },
    taskEnv: { PMIX_RANK: "3", SLURM_PROCID: "3", HOME: "/home/alice" },
    master: { addr: "node1", port: 21010 },
    nodeCount: 2,
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
    'echo $$ >"$0" && exec "$@"',
    "/run/srun-docker/task-1.pid",
    "python3",
    "app.py",
    "--epochs",
    "2",
  ]);
});
