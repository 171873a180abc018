import { expect, test } from "vitest";
import { buildContainerName, buildLabels, sanitizeContainerName, selectLabels } from "./names.js";

test.each<[string | undefined, string, string, string, string, string]>([
  [undefined, "alice", "42", "0", "node1", "srun-docker-alice-42.0-node1"],
  ["mine", "alice", "42", "3", "node1", "mine-42.3-node1"],
  [undefined, "a.b@corp", "local-1f", "0", "n1.cluster", "srun-docker-a.b-corp-local-1f.0-n1.cluster"],
  ["_x", "u", "1", "0", "n", "x_x-1.0-n"],
])("name(%s, %s, %s, %s, %s) = %s", (dockname, user, jobId, stepId, node, expected) => {
  expect(buildContainerName({ dockname, user, jobId, stepId, node })).toBe(expected);
});

test.each([
  ["ok-name_1.2", "ok-name_1.2"],
  ["-lead", "x-lead"],
  ["a b/c", "a-b-c"],
  ["a", "a-"],
  ["", "x-"],
])("sanitize %j = %j", (name, expected) => expect(sanitizeContainerName(name)).toBe(expected));

test("labels", () => {
  expect(buildLabels({ version: "0.1.0", jobId: "42", stepId: "0", node: "node1", uid: 1001, user: "alice" })).toEqual({
    "srun-docker": "1",
    "srun-docker.version": "0.1.0",
    "srun-docker.job": "42",
    "srun-docker.step": "0",
    "srun-docker.node": "node1",
    "srun-docker.uid": "1001",
    "srun-docker.user": "alice",
  });
});

test.each<[Parameters<typeof selectLabels>[0], Record<string, string>]>([
  [{ uid: 5 }, { "srun-docker": "1", "srun-docker.uid": "5" }],
  [
    { uid: 5, jobId: "9" },
    { "srun-docker": "1", "srun-docker.uid": "5", "srun-docker.job": "9" },
  ],
  [
    { uid: 5, jobId: "9", stepId: "1" },
    { "srun-docker": "1", "srun-docker.uid": "5", "srun-docker.job": "9", "srun-docker.step": "1" },
  ],
])("selectLabels(%j)", (selection, expected) => expect(selectLabels(selection)).toEqual(expected));

test("a requeued run's container is named and labelled apart from its first run's", () => {
  const first = { dockname: undefined, user: "alice", jobId: "42", stepId: "0", node: "node1" };
  expect(buildContainerName({ ...first, restartCount: 0 })).toBe("srun-docker-alice-42.0-node1");
  expect(buildContainerName({ ...first, restartCount: 1 })).toBe("srun-docker-alice-42.0.r1-node1");
  const labels = { version: "0.1.0", jobId: "42", stepId: "0", node: "node1", uid: 1001, user: "alice" };
  expect(buildLabels({ ...labels, restartCount: 0 })).not.toHaveProperty(["srun-docker.restart"]);
  expect(buildLabels({ ...labels, restartCount: 2 })).toMatchObject({
    "srun-docker.restart": "2",
    "srun-docker.job": "42",
  });
});
