import { expect, test } from "vitest";
import { buildLabels } from "../engine/index.js";
import { chooseJobContainer } from "./job-container-choice.js";

const container = (jobId: string, stepId: string) => ({
  name: `srun-docker-erin-${jobId}.${stepId}-node2`,
  labels: buildLabels({ version: "1", jobId, stepId, node: "node2", uid: 1005, user: "erin" }),
});
const want = (stepId?: string) => ({ jobId: "42", stepId, node: "node2" });

test("the job's one container on the node is chosen, whatever other jobs run there", () => {
  expect(chooseJobContainer([container("41", "0"), container("42", "0")], want())).toEqual({
    kind: "chosen",
    name: "srun-docker-erin-42.0-node2",
    stepId: "0",
  });
});

test("several steps: it names each and says how to choose; --step chooses", () => {
  const listing = [container("42", "0"), container("42", "3")];
  expect(chooseJobContainer(listing, want())).toEqual({
    kind: "ambiguous",
    message:
      "job 42 has 2 containers on node2: step 0 (srun-docker-erin-42.0-node2), step 3 (srun-docker-erin-42.3-node2)",
    hint: "choose one with --step, e.g. srun-docker exec --step=0",
  });
  expect(chooseJobContainer(listing, want("3"))).toMatchObject({ kind: "chosen", name: "srun-docker-erin-42.3-node2" });
});

test("none of the job here: says so with the way to a node of the job", () => {
  expect(chooseJobContainer([container("41", "0")], want())).toEqual({
    kind: "none",
    message: "job 42 has no container of yours on node2",
    hint: "run it on a node of the job while it runs: srun --jobid=42 --overlap -w NODE --pty srun-docker exec",
  });
});

test("a step that has no container here names the steps that have", () => {
  expect(chooseJobContainer([container("42", "0")], want("5"))).toEqual({
    kind: "none",
    message: "job 42 has no container of step 5 on node2, only step 0 (srun-docker-erin-42.0-node2)",
    hint: "choose one of those with --step, or leave --step out when there is one",
  });
});
