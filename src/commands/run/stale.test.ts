// The sweep of what killed runs left: which containers and job dirs go, and when squeue is asked.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import type { ContainerSummary } from "../../io/container/index.js";
import { createLogger } from "../../io/process/index.js";
import { removeStaleContainers } from "./stale.js";

let jobsDir: string;
beforeEach(() => {
  jobsDir = mkdtempSync(path.join(tmpdir(), "stale-"));
});
afterEach(() => rmSync(jobsDir, { recursive: true, force: true }));

const container = (name: string, job: string): ContainerSummary => ({ name, labels: { "srun-docker.job": job } });

function sweep(containers: ContainerSummary[], active: Set<string> | undefined) {
  const removed: string[] = [];
  const asked: string[][] = [];
  const lines: string[] = [];
  const listed: Array<Readonly<Record<string, string>>> = [];
  const runtime = {
    list: async (labels: Readonly<Record<string, string>>) => {
      listed.push(labels);
      return containers;
    },
    remove: async (names: readonly string[]) => {
      removed.push(...names);
    },
  };
  const run = () =>
    removeStaleContainers(
      {
        runtime,
        uid: 1001,
        log: createLogger({ prefix: "node1 master", write: (t) => lines.push(t) }),
        currentJob: "12",
        jobsDir,
        node: "node1",
      },
      async (ids) => {
        asked.push([...ids]);
        return active;
      },
    );
  return { run, removed, asked, lines, listed };
}

function jobDir(entry: string, node = "node1"): string {
  const dir = path.join(jobsDir, entry, node);
  mkdirSync(dir, { recursive: true });
  return dir;
}

test("removes this user's containers and job dirs of ended jobs, keeps running and current ones", async () => {
  const ended = jobDir("10.0");
  const running = jobDir("11.0");
  const current = jobDir("12.0");
  const otherNode = jobDir("13.0", "node2");
  const s = sweep(
    [container("c10", "10"), container("c11", "11"), container("c12", "12"), container("local", "local-1f")],
    new Set(["11"]),
  );
  await s.run();
  expect(s.listed).toEqual([{ "srun-docker": "1", "srun-docker.uid": "1001" }]);
  expect(s.asked).toEqual([["10", "11"]]);
  expect(s.removed).toEqual(["c10"]);
  expect(s.lines).toEqual(["[node1 master] removing 1 container(s) left by ended jobs: c10\n"]);
  expect([existsSync(ended), existsSync(running), existsSync(current), existsSync(otherNode)]).toEqual([
    false,
    true,
    true,
    true,
  ]);
});

test("squeue cannot say: nothing is touched", async () => {
  const dir = jobDir("10.0");
  const s = sweep([container("c10", "10")], undefined);
  await s.run();
  expect(s.removed).toEqual([]);
  expect(existsSync(dir)).toBe(true);
});

test("only our own job's leftovers: squeue is not asked", async () => {
  jobDir("12.0");
  const s = sweep([container("c12", "12")], new Set());
  await s.run();
  expect(s.asked).toEqual([]);
  expect(s.removed).toEqual([]);
});

test("a requeued run removes what its job's first run left, without asking squeue, and keeps its own", async () => {
  const first = jobDir("12.0");
  const own = jobDir("12.0.r1");
  const ownOtherStep = jobDir("12.1.r1");
  const requeued = (name: string, restart?: string): ContainerSummary => ({
    name,
    labels: { "srun-docker.job": "12", ...(restart === undefined ? {} : { "srun-docker.restart": restart }) },
  });
  const removed: string[] = [];
  const lines: string[] = [];
  const asked: string[][] = [];
  await removeStaleContainers(
    {
      runtime: {
        list: async () => [requeued("c12-first"), requeued("c12-own", "1")],
        remove: async (names) => {
          removed.push(...names);
        },
      },
      uid: 1001,
      log: createLogger({ prefix: "node1 master", write: (t) => lines.push(t) }),
      currentJob: "12",
      currentRestart: 1,
      jobsDir,
      node: "node1",
    },
    async (ids) => {
      asked.push([...ids]);
      return new Set(["12"]);
    },
  );
  expect(asked).toEqual([]);
  expect(removed).toEqual(["c12-first"]);
  expect(lines).toEqual([
    "[node1 master] removing 1 container(s) left by an earlier run of this job (requeued): c12-first\n",
  ]);
  expect([existsSync(first), existsSync(own), existsSync(ownOtherStep)]).toEqual([false, true, true]);
});
