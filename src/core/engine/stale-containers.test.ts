import { expect, test } from "vitest";
import type { ContainerSummary } from "./ps-json.js";
import { jobIdsToAsk, restartOf, selectOtherRuns, selectStale, slurmJobOfEntry } from "./stale-containers.js";

const c = (name: string, job?: string): ContainerSummary => ({
  name,
  labels: job === undefined ? {} : { "srun-docker.job": job },
});
const CONTAINERS = [c("ended", "10"), c("running", "11"), c("current", "12"), c("local", "local-abc"), c("unlabelled")];
const DIRS = [
  { job: "10", dir: "/j/10.0/n1" },
  { job: "11", dir: "/j/11.0/n1" },
];

test.each<[string, ReadonlySet<string> | undefined, string | undefined, string[], string[]]>([
  ["ended jobs' containers and dirs go", new Set(["11", "12"]), "12", ["ended"], ["/j/10.0/n1"]],
  ["our own job's never, even when squeue forgot it", new Set(["11"]), "12", ["ended"], ["/j/10.0/n1"]],
  ["without a current job, an unlisted one is ended", new Set(["11"]), undefined, ["ended", "current"], ["/j/10.0/n1"]],
  ["squeue could not say: nothing", undefined, "12", [], []],
  ["every job still known: nothing", new Set(["10", "11", "12"]), undefined, [], []],
])("%s", (_name, active, currentJob, containers, dirs) => {
  const stale = selectStale({ containers: CONTAINERS, dirs: DIRS }, active, currentJob);
  expect(stale.containers.map((x) => x.name)).toEqual(containers);
  expect(stale.dirs.map((d) => d.dir)).toEqual(dirs);
});

test("only Slurm job ids are asked about, once each", () => {
  expect(jobIdsToAsk([...CONTAINERS, c("again", "10")], DIRS)).toEqual(["10", "11", "12"]);
});

test.each<[string, string | undefined]>([
  ["123.0", "123"],
  ["123.batch", "123"],
  ["local-ab12.0", undefined],
  ["123", undefined],
  ["cache", undefined],
])("jobs/%s belongs to Slurm job %s", (entry, job) => {
  expect(slurmJobOfEntry(entry)).toBe(job);
});

test("what the job's earlier runs left is stale once it was requeued; its own run's and other jobs' are not", () => {
  const run = (name: string, job: string, restart?: string): ContainerSummary => ({
    name,
    labels: { "srun-docker.job": job, ...(restart === undefined ? {} : { "srun-docker.restart": restart }) },
  });
  const containers = [run("first", "12"), run("second", "12", "1"), run("now", "12", "2"), run("other", "11", "1")];
  const dirs = [
    { job: "12", restart: 0, dir: "/j/12.0/n1" },
    { job: "12", restart: 2, dir: "/j/12.1.r2/n1" },
    { job: "11", restart: 1, dir: "/j/11.0.r1/n1" },
  ];
  const stale = selectOtherRuns({ containers, dirs }, { job: "12", restart: 2 });
  expect(stale.containers.map((x) => x.name)).toEqual(["first", "second"]);
  expect(stale.dirs.map((d) => d.dir)).toEqual(["/j/12.0/n1"]);
  expect(restartOf(run("x", "1", "oops"))).toBe(0);
});
