import { describe, expect, test } from "vitest";
import { resolveJobContext } from "./slurm-context.js";

const SLURM = { SLURM_JOB_ID: "42", SLURM_STEP_ID: "3", SLURM_STEP_NODELIST: "node[1-3]", SLURMD_NODENAME: "node2" };
const none = { nodelist: undefined, nodeRank: undefined };

describe("resolveJobContext", () => {
  test("inside a Slurm step", () => {
    expect(resolveJobContext(none, SLURM, "node2.cluster")).toEqual({
      jobId: "42",
      stepId: "3",
      restartCount: 0,
      nodes: ["node1", "node2", "node3"],
      nodeName: "node2",
      rank: 1,
      master: "node1",
      isMaster: false,
      inSlurm: true,
    });
  });

  test.each<[string, NodeJS.ProcessEnv, { nodelist?: string[]; nodeRank?: number }, string, string, unknown]>([
    [
      "step nodelist wins over job nodelist",
      { ...SLURM, SLURM_JOB_NODELIST: "node[1-9]" },
      {},
      "x",
      "nodes",
      ["node1", "node2", "node3"],
    ],
    [
      "job nodelist when no step",
      { SLURM_JOB_ID: "1", SLURM_JOB_NODELIST: "a,b", SLURMD_NODENAME: "b" },
      {},
      "x",
      "rank",
      1,
    ],
    [
      "SLURM_NODELIST as a last resort",
      { SLURM_JOB_ID: "1", SLURM_NODELIST: "a,b", SLURMD_NODENAME: "a" },
      {},
      "x",
      "rank",
      0,
    ],
    ["--nodelist wins over Slurm", SLURM, { nodelist: ["node3", "node2"] }, "x", "rank", 1],
    [
      "hostname short name when no SLURMD_NODENAME",
      { SLURM_JOB_ID: "1", SLURM_JOB_NODELIST: "a,b" },
      {},
      "b.example.org",
      "nodeName",
      "b",
    ],
    ["nodes given as FQDNs match the short name", { SLURM_JOB_ID: "1" }, { nodelist: ["a.x", "b.x"] }, "b", "rank", 1],
    [
      "SLURM_NODEID when the name is not in the list",
      { ...SLURM, SLURMD_NODENAME: "alias", SLURM_NODEID: "2" },
      {},
      "x",
      "rank",
      2,
    ],
    ["--node-rank wins", SLURM, { nodeRank: 0 }, "x", "rank", 0],
    [
      "--node-rank names the node as the list does",
      {},
      { nodelist: ["n1", "n2"], nodeRank: 1 },
      "login7",
      "nodeName",
      "n2",
    ],
    ["an FQDN list keeps the list's name", { SLURM_JOB_ID: "1" }, { nodelist: ["a.x", "b.x"] }, "b", "nodeName", "b.x"],
    [
      "no step id means step 0",
      { SLURM_JOB_ID: "9", SLURM_JOB_NODELIST: "a", SLURMD_NODENAME: "a" },
      {},
      "x",
      "stepId",
      "0",
    ],
    ["outside Slurm: stable local job id", {}, { nodelist: ["a", "b"], nodeRank: 1 }, "b", "jobId", "local-08876b46"],
    ["outside Slurm: SRUN_DOCKER_JOB_ID", { SRUN_DOCKER_JOB_ID: "run7" }, { nodelist: ["a"] }, "a", "jobId", "run7"],
    ["a first run", SLURM, {}, "x", "restartCount", 0],
    ["a requeued run", { ...SLURM, SLURM_RESTART_COUNT: "2" }, {}, "x", "restartCount", 2],
    ["a restart count that is no count", { ...SLURM, SLURM_RESTART_COUNT: "x" }, {}, "x", "restartCount", 0],
    ["outside Slurm is not inSlurm", {}, { nodelist: ["a"] }, "a", "inSlurm", false],
    ["master is rank 0", {}, { nodelist: ["a", "b"] }, "a", "isMaster", true],
  ])("%s", (_what, env, options, hostname, key, expected) => {
    const context = resolveJobContext({ ...none, ...options }, env, hostname);
    expect(context[key as keyof typeof context]).toEqual(expected);
  });

  test.each<[string, NodeJS.ProcessEnv, { nodelist?: string[]; nodeRank?: number }, string]>([
    ["outside Slurm without --nodelist", {}, {}, "not in a Slurm job step, and no `--nodelist` given"],
    [
      "this node not in the list",
      SLURM,
      { nodelist: ["node1", "node3"] },
      "this node, `node2`, is not in the node list (node1, node3)",
    ],
    ["rank out of range", {}, { nodelist: ["a"], nodeRank: 3 }, "`--node-rank` is 3 but there are 1 node(s)"],
    ["duplicate nodes", {}, { nodelist: ["a", "a"] }, "names `a` more than once"],
    [
      "several tasks per node",
      { ...SLURM, SLURM_STEP_NUM_TASKS: "6", SLURM_STEP_NUM_NODES: "3" },
      {},
      "needs exactly one task per node",
    ],
    ["bad Slurm nodelist", { SLURM_JOB_ID: "1", SLURM_JOB_NODELIST: "n[2-1]" }, {}, "invalid hostlist"],
  ])("%s", (_what, env, options, message) => {
    expect(() => resolveJobContext({ ...none, ...options }, env, "node2")).toThrow(message);
  });
});
