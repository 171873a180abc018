// GPU paths without GPUs: the test nodes' dockerd has a no-op NVIDIA hook (so `--gpus` is
// accepted) and a stand-in `nvidia` runtime (so nvidia-docker2's `--runtime=nvidia` is).
// What is proven here is the argv and the environment the job gets, end to end.
import { beforeAll, describe, expect, test } from "vitest";
import { ALICE_UID, clusterSize, IMAGE, leftovers, runAs } from "./cluster.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;

beforeAll(() => {
  expect(clusterSize()).toBeGreaterThanOrEqual(2);
  ws = createWorkspace("alice", ALICE_UID);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a bash script
  ws.write("gpu.sh", '#!/bin/bash\necho "np=$np hostlist=$hostlist visible=${NVIDIA_VISIBLE_DEVICES:-none}"\n', 0o755);
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;

describe("GPUs Slurm gave the node", () => {
  test("CUDA_VISIBLE_DEVICES=0,1: two slots per node and --gpus device=0,1", async () => {
    const r = await runAs(
      "alice",
      cd(`CUDA_VISIBLE_DEVICES=0,1 salloc -N 2 srun srun-docker --container=${IMAGE} --script=./gpu.sh --debug`),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^np=4 hostlist=node\d:2,node\d:2 visible=0,1$/m);
    expect(r.stderr).toContain('--gpus "device=0,1"');
    expect(r.stderr).not.toMatch(/no GPUs found/);
  });

  test("--nvdock2: nvidia-docker2's runtime and NVIDIA_VISIBLE_DEVICES", async () => {
    const r = await runAs(
      "alice",
      cd(`salloc -N 2 srun srun-docker --container=${IMAGE} --script=./gpu.sh --gpus=2,3 --nvdock2 --debug`),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^np=4 hostlist=node\d:2,node\d:2 visible=2,3$/m);
    expect(r.stderr).toContain("--runtime=nvidia -e NVIDIA_VISIBLE_DEVICES=2,3");
  });

  test("a node without GPUs: one slot and a warning (the reference computed np=0)", async () => {
    const r = await runAs("alice", cd(`salloc -N 2 srun srun-docker --container=${IMAGE} --script=./gpu.sh`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^np=2 hostlist=node\d:1,node\d:1 visible=none$/m);
    expect(r.stderr).toMatch(/warning: no GPUs found on this node; running 1 slot per node/);
    expect(await leftovers(clusterSize())).toEqual({ containers: [], processes: [] });
  });
});
