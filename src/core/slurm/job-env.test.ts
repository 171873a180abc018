import { expect, test } from "vitest";
import {
  buildJobEnv,
  findMissingEnvlist,
  type JobEnvInput,
  planJobEnv,
  renderHostfile,
  renderHostlistVar,
} from "./job-env.js";

const INPUT: JobEnvInput = {
  nodes: ["node1", "node2"],
  rank: 1,
  slotsPerNode: 4,
  masterPort: 20002,
  hostfilePath: "/home/a/.srun-docker/jobs/42/hostfile",
  jobId: "42",
  envlist: [],
  callerEnv: {},
};

test("the script's environment", () => {
  expect(buildJobEnv(INPUT)).toEqual({
    hostlist: "node1:4,node2:4",
    np: "8",
    NNODES: "2",
    NODE_RANK: "1",
    NPROC_PER_NODE: "4",
    MASTER_ADDR: "node1",
    MASTER_PORT: "20002",
    WORLD_SIZE: "8",
    HOSTFILE: "/home/a/.srun-docker/jobs/42/hostfile",
    SLURM_JOB_ID: "42",
  });
});

test.each<[string, Partial<JobEnvInput>, Record<string, string>]>([
  [
    "envlist values and ENVLIST",
    { envlist: ["V1", "V2"], callerEnv: { V1: "one", V2: "a b" } },
    { V1: "one", V2: "a b", ENVLIST: "V1,V2" },
  ],
  [
    "unset envlist names are left out",
    { envlist: ["V1", "NOPE"], callerEnv: { V1: "x" } },
    { V1: "x", ENVLIST: "V1,NOPE" },
  ],
  [
    "our variables win over an envlist of the same name",
    { envlist: ["np"], callerEnv: { np: "99" } },
    { np: "8", ENVLIST: "np" },
  ],
  [
    "ssh command for Open MPI",
    { sshCommand: "ssh -F /j/ssh_config" },
    { OMPI_MCA_plm_rsh_agent: "ssh -F /j/ssh_config", PRTE_MCA_plm_ssh_agent: "ssh -F /j/ssh_config" },
  ],
])("%s", (_what, change, subset) => expect(buildJobEnv({ ...INPUT, ...change })).toMatchObject(subset));

test("an exec gets our variables by value and the --envlist ones by name, so no value is in its argv", () => {
  const env = planJobEnv({
    ...INPUT,
    envlist: ["HF_TOKEN", "UNSET", "np"],
    callerEnv: { HF_TOKEN: "s3cret", np: "9" },
  });
  expect(env.names).toEqual(["HF_TOKEN", "UNSET"]);
  expect(env.values).toEqual({ ...buildJobEnv(INPUT), ENVLIST: "HF_TOKEN,UNSET,np" });
  expect(JSON.stringify(env.values)).not.toContain("s3cret");
  // The job's files (agent config, authorized_keys) need every value.
  expect(env.all).toEqual({ ...env.values, HF_TOKEN: "s3cret" });
});

test.each<[string[], number, string, string]>([
  [["node1", "node2"], 4, "node1:4,node2:4", "node1 slots=4\nnode2 slots=4\n"],
  [["a"], 1, "a:1", "a slots=1\n"],
  [[], 1, "", ""],
])("hostlist and hostfile for %j × %d", (nodes, slots, hostlist, hostfile) => {
  expect(renderHostlistVar(nodes, slots)).toBe(hostlist);
  expect(renderHostfile(nodes, slots)).toBe(hostfile);
});

test("findMissingEnvlist", () => expect(findMissingEnvlist(["A", "B", "C"], { A: "", C: "1" })).toEqual(["B"]));
