import { expect, test } from "vitest";
import type { ContainerSummary } from "./ps-json.js";
import { jobIdsToAsk, selectStale, slurmJobOfEntry } from "./stale-containers.js";

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
