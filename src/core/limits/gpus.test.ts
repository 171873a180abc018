import { expect, test } from "vitest";
import type { GpuMode } from "../common/index.js";
import { resolveGpus } from "./gpus.js";

const auto: GpuMode = { kind: "auto" };
const NO_GPU = "no GPUs found on this node; running 1 slot per node (set --slots_per_node to change it)";
const PRIV =
  "--privileged exposes every GPU of the node to the container; NV_GPU is ignored, use CUDA_VISIBLE_DEVICES to mask";

test.each<[string, GpuMode, boolean, number | undefined, NodeJS.ProcessEnv, number | undefined, unknown]>([
  [
    "Slurm gres: step GPUs, count from SLURM_GPUS_ON_NODE",
    auto,
    false,
    undefined,
    { SLURM_STEP_GPUS: "2,3", SLURM_GPUS_ON_NODE: "2" },
    8,
    { deviceIds: ["2", "3"], slots: 2, warnings: [] },
  ],
  [
    "job GPUs when no step GPUs",
    auto,
    false,
    undefined,
    { SLURM_JOB_GPUS: "1", CUDA_VISIBLE_DEVICES: "0" },
    8,
    { deviceIds: ["1"], slots: 1, warnings: [] },
  ],
  [
    "CUDA_VISIBLE_DEVICES",
    auto,
    false,
    undefined,
    { CUDA_VISIBLE_DEVICES: "0,1,2" },
    8,
    { deviceIds: ["0", "1", "2"], slots: 3, warnings: [] },
  ],
  [
    "NV_GPU wins",
    auto,
    false,
    undefined,
    { NV_GPU: "4,5", CUDA_VISIBLE_DEVICES: "0" },
    8,
    { deviceIds: ["4", "5"], slots: 2, warnings: [] },
  ],
  [
    "privileged ignores NV_GPU",
    auto,
    true,
    undefined,
    { NV_GPU: "4,5", CUDA_VISIBLE_DEVICES: "0" },
    8,
    { deviceIds: ["0"], slots: 1, warnings: [PRIV] },
  ],
  ["nvidia-smi when nothing else", auto, false, undefined, {}, 4, { deviceIds: "all", slots: 4, warnings: [] }],
  ["no GPUs: 1 slot and a warning", auto, false, undefined, {}, 0, { deviceIds: [], slots: 1, warnings: [NO_GPU] }],
  [
    "no nvidia-smi: 1 slot and a warning",
    auto,
    false,
    undefined,
    {},
    undefined,
    { deviceIds: [], slots: 1, warnings: [NO_GPU] },
  ],
  [
    "Slurm NoDevFiles means none",
    auto,
    false,
    undefined,
    { CUDA_VISIBLE_DEVICES: "NoDevFiles" },
    0,
    { deviceIds: [], slots: 1, warnings: [NO_GPU] },
  ],
  ["--slots_per_node wins, no warning", auto, false, 3, {}, 0, { deviceIds: [], slots: 3, warnings: [] }],
  [
    "--slots_per_node undersubscribes",
    auto,
    false,
    2,
    { CUDA_VISIBLE_DEVICES: "0,1,2,3" },
    4,
    { deviceIds: ["0", "1", "2", "3"], slots: 2, warnings: [] },
  ],
  [
    "--gpus=none",
    { kind: "none" },
    false,
    undefined,
    { SLURM_GPUS_ON_NODE: "4" },
    4,
    { deviceIds: [], slots: 1, warnings: [] },
  ],
  ["--gpus=all", { kind: "all" }, false, undefined, {}, 8, { deviceIds: "all", slots: 8, warnings: [] }],
  [
    "--gpus=all counts Slurm first",
    { kind: "all" },
    false,
    undefined,
    { SLURM_GPUS_ON_NODE: "2" },
    8,
    { deviceIds: "all", slots: 2, warnings: [] },
  ],
  [
    "--gpus=LIST",
    { kind: "list", ids: ["0", "3"] },
    false,
    undefined,
    { CUDA_VISIBLE_DEVICES: "1" },
    8,
    { deviceIds: ["0", "3"], slots: 2, warnings: [] },
  ],
])("%s", (_what, mode, privileged, slotsPerNode, env, smi, expected) => {
  expect(resolveGpus({ mode, privileged, slotsPerNode }, env, smi)).toEqual(expected);
});
