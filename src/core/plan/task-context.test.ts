import { describe, expect, test } from "vitest";
import {
  checkTaskMpi,
  parseTasksPerNode,
  resolveTaskContext,
  taskVariableNames,
  taskVisibleDevices,
  torchVariables,
} from "./task-context.js";

test.each([
  ["2(x3),1", [2, 2, 2, 1]],
  ["4", [4]],
  ["1,2,3", [1, 2, 3]],
  ["", []],
  ["2(x", []],
])("parseTasksPerNode(%j)", (text, counts) => {
  expect(parseTasksPerNode(text)).toEqual(counts);
});

const STEP = {
  SLURM_PROCID: "5",
  SLURM_LOCALID: "1",
  SLURM_NODEID: "2",
  SLURM_STEP_NUM_TASKS: "8",
  SLURM_STEP_TASKS_PER_NODE: "2(x4)",
};

describe("resolveTaskContext", () => {
  test("a task's ranks and its node's share of the step", () => {
    expect(resolveTaskContext(STEP)).toEqual({ rank: 5, localRank: 1, worldSize: 8, localSize: 2, nodeIndex: 2 });
  });

  test.each([
    [{ ...STEP, SLURM_PROCID: undefined }, "needs SLURM_PROCID from Slurm, and it is unset"],
    [{ ...STEP, SLURM_LOCALID: "x" }, "needs SLURM_LOCALID from Slurm, and it is `x`"],
    [{ ...STEP, SLURM_STEP_TASKS_PER_NODE: "2(x2)" }, "cannot tell how many tasks share this node"],
  ])("outside a proper step: a usage error (%#)", (env, message) => {
    expect(() => resolveTaskContext(env)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }),
    );
  });
});

test("the task's PMIx, PMI, Slurm, MPI and GPU variables go in by name (CUDA's is renumbered); others do not", () => {
  expect(
    taskVariableNames({
      PMIX_RANK: "1",
      PMI_SIZE: "2",
      SLURM_PROCID: "1",
      OMPI_MCA_x: "y",
      ROCR_VISIBLE_DEVICES: "1",
      CUDA_VISIBLE_DEVICES: "1",
      HOME: "/h",
      PATH: "/bin",
      PMIXFOO: "no",
    }),
  ).toEqual(["OMPI_MCA_x", "PMIX_RANK", "PMI_SIZE", "ROCR_VISIBLE_DEVICES", "SLURM_PROCID"]);
});

test("PyTorch's variables from Slurm's", () => {
  const task = resolveTaskContext(STEP);
  expect(torchVariables(task, { addr: "node1", port: 29500 }, 4)).toEqual({
    RANK: "5",
    LOCAL_RANK: "1",
    WORLD_SIZE: "8",
    LOCAL_WORLD_SIZE: "2",
    NODE_RANK: "2",
    NNODES: "4",
    MASTER_ADDR: "node1",
    MASTER_PORT: "29500",
  });
});

test("srun --mpi=pmi2 is refused in one line; PMIx is fine", () => {
  expect(() => checkTaskMpi({ PMI_FD: "5" })).toThrow(
    expect.objectContaining({ message: expect.stringContaining("--mpi=pmi2") }),
  );
  expect(() => checkTaskMpi({ PMIX_SERVER_URI21: "x", PMI_FD: "5" })).not.toThrow();
  expect(() => checkTaskMpi({})).not.toThrow();
});

test.each<[string | undefined, readonly string[] | "all", Record<string, string>]>([
  ["3", ["2", "3"], { CUDA_VISIBLE_DEVICES: "1" }],
  ["2,3", ["2", "3"], { CUDA_VISIBLE_DEVICES: "0,1" }],
  ["3", "all", { CUDA_VISIBLE_DEVICES: "3" }],
  ["5", ["2", "3"], { CUDA_VISIBLE_DEVICES: "5" }],
  ["1", [], { CUDA_VISIBLE_DEVICES: "1" }],
  [undefined, ["2", "3"], {}],
])("the task's CUDA_VISIBLE_DEVICES=%s in a container with GPUs %j", (value, devices, expected) => {
  expect(taskVisibleDevices(value === undefined ? {} : { CUDA_VISIBLE_DEVICES: value }, devices)).toEqual(expected);
});
