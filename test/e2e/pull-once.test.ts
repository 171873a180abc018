// --pull-once and `srun-docker pull` on the real 4-node cluster, as carol: one node
// fetches from the registry and the others get the image through the relay tree, as the
// registry's access log shows; a parent cut off mid-relay sends its child to the registry and
// the job still runs; `pull` stages an image for a later --pull=never job; a `docker save`
// archive on the shared home is loaded on every node. Each test pushes an image of its own (a
// few MB, test/e2e/tiny-image.ts) and removes it from every node at the end.
import { execFileSync } from "node:child_process";
import { chownSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  accessLogMark,
  blobFetches,
  cancelAllJobs,
  clusterSize,
  figure,
  inNode,
  leftoversOn,
  type RegistryInfo,
  registry,
  runAs,
  USERS,
} from "./cluster.js";
import { removeRepoFrom } from "./registry-images.js";
import { pushTinyImage, type TinyImage, uniqueTag } from "./tiny-image.js";
import { createWorkspace, type Workspace } from "./workspace.js";

const USER = "carol";
const UID = USERS.carol;
const NODES = [1, 2, 3, 4];
let ws: Workspace;
let reg: RegistryInfo;
const pushed: string[] = [];

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  reg = registry();
  ws = createWorkspace(USER, UID);
  // Which image each node runs: the mark in its /id. The tiny image has /bin/sh and nothing else.
  ws.write(
    "ids.sh",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${h%%:*}, not a template
    '#!/bin/sh\nIFS=,\nfor h in $hostlist; do n=${h%%:*}; echo "$n id=$(ssh "$n" \'read i </id; echo $i\')"; done\n',
    0o755,
  );
});

afterEach(async () => {
  await uncut();
  await cancelAllJobs(USER, UID, NODES);
});

afterAll(async () => {
  for (const repo of new Set(pushed)) await removeRepoFrom(NODES, repo);
});

async function image(mb = 8): Promise<TinyImage> {
  const pushedImage = await pushTinyImage(reg.open.host, `sdtc-once-${uniqueTag()}`, uniqueTag(), mb);
  pushed.push(pushedImage.ref.slice(0, pushedImage.ref.lastIndexOf(":")));
  return pushedImage;
}

const job = (container: string, more = "") =>
  runAs(
    USER,
    `cd ${ws.dir} && salloc -N 4 -w node[1-4] srun srun-docker --container=${container} --script=./ids.sh ${more}`,
    300_000,
  );
const stage = (ref: string, more = "") =>
  runAs(USER, `cd ${ws.dir} && salloc -N 4 -w node[1-4] srun srun-docker pull ${ref} ${more}`, 300_000);
const marks = (stdout: string) => [...stdout.matchAll(/^(node\d) id=(\w*)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
const everyNode = (mark: string) => NODES.map((k) => `node${k} ${mark}`);

/** What each node's engine has under `name` (its image ID), or "" where it has none. */
async function imageIdOn(k: number, name: string): Promise<string> {
  const r = await inNode(k, ["sh", "-c", `docker image inspect -f '{{.Id}}' ${name} 2>/dev/null || true`]);
  return r.stdout.trim();
}

async function imageIds(name: string): Promise<string[]> {
  return Promise.all(NODES.map((k) => imageIdOn(k, name)));
}

// The cut: on node4, carol's TCP connections to node2 (only the relay: ssh goes from the master)
// are marked, and once node2 has sent 2 MB on one, what else it sends is answered with a reset
// (its own resets still pass, so node4 learns of the cut at once). Only carol's, only node4's.
const MARK = "0x5d1";
const CUT_RULES = [
  ["-t", "mangle", "OUTPUT", "-p", "tcp", "-d", "10.213.0.2", "-m", "owner", "--uid-owner", String(UID)],
  ["-t", "filter", "INPUT", "-p", "tcp", "-s", "10.213.0.2", "!", "--tcp-flags", "RST", "RST"],
];
const CUT_TARGETS = [
  ["-j", "CONNMARK", "--set-mark", MARK],
  [
    "-m",
    "connmark",
    "--mark",
    MARK,
    "-m",
    "connbytes",
    "--connbytes",
    "2000000:",
    "--connbytes-dir",
    "reply",
    "--connbytes-mode",
    "bytes",
    "-j",
    "REJECT",
    "--reject-with",
    "tcp-reset",
  ],
];
const ruleArgs = (action: "-A" | "-D", index: number): string[] => {
  const [table, tableName, chain, ...match] = CUT_RULES[index] ?? [];
  return [
    table ?? "",
    tableName ?? "",
    action,
    chain ?? "",
    ...match,
    "-m",
    "comment",
    "--comment",
    "sdtc-pull-once-test",
    ...(CUT_TARGETS[index] ?? []),
  ];
};

async function cut(): Promise<void> {
  for (const index of [0, 1]) {
    const r = await inNode(4, ["iptables", ...ruleArgs("-A", index)]);
    if (r.code !== 0) throw new Error(`iptables on node4: ${r.stderr}`);
  }
}

async function uncut(): Promise<void> {
  for (const index of [0, 1]) {
    // Deleted until none is left (a failed test may have added them twice).
    for (let i = 0; i < 4; i++) if ((await inNode(4, ["iptables", ...ruleArgs("-D", index)])).code !== 0) break;
  }
}

describe("--pull-once", () => {
  test("4 nodes: the registry serves the image's layer once, every node ends with the same image, the summary names the sources", async () => {
    const img = await image();
    const mark = accessLogMark("open");
    const r = await job(img.ref, "--pull-once");
    expect(r.code, r.stderr).toBe(0);
    expect(marks(r.stdout)).toEqual(everyNode(img.mark));
    expect(blobFetches("open", img.repo, img.layer, mark).map((f) => f.remote)).toEqual(["10.213.0.1"]);
    expect(await imageIds(img.ref)).toEqual(NODES.map(() => img.id));
    const summary =
      /pulled \S+sdtc-once-\w+:\w+@sha256:[0-9a-f]{12} on 4 nodes: [1-9][\d.]* [kMG]?B in [\d.]+ m?s \(1 from the registry, 2 from node1, 1 from node2\)/;
    expect(r.stderr).toMatch(summary);
    figure("--pull-once of an 8 MB layer on 4 nodes", r.stderr.match(summary)?.[0] ?? "");
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });

  test("a parent cut off mid-relay: its child pulls from the registry itself (said with --debug), and the job runs", async () => {
    const img = await image();
    await cut();
    const mark = accessLogMark("open");
    const r = await job(img.ref, "--pull-once --debug");
    await uncut();
    expect(r.code, r.stderr).toBe(0);
    expect(marks(r.stdout)).toEqual(everyNode(img.mark));
    expect(r.stderr).toMatch(
      /\[node4 worker\] could not get the image from node2 \(.+\): pulling it from the registry instead/,
    );
    expect(
      blobFetches("open", img.repo, img.layer, mark)
        .map((f) => f.remote)
        .sort(),
    ).toEqual(["10.213.0.1", "10.213.0.4"]);
    expect(r.stderr).toMatch(/pulled \S+ on 4 nodes: .* \(2 from the registry, 2 from node1\)/);
    expect(await imageIds(img.ref)).toEqual(NODES.map(() => img.id));
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });
});

describe("srun-docker pull", () => {
  test("stages the image on 4 nodes; a second pull finds it everywhere; a job with --pull=never then runs it", async () => {
    const img = await image();
    const mark = accessLogMark("open");
    const staged = await stage(img.ref);
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stderr).toMatch(/pulled \S+ on 4 nodes: [1-9][\d.]* [kMG]?B in .* \(4 from the registry\)/);
    expect(
      blobFetches("open", img.repo, img.layer, mark)
        .map((f) => f.remote)
        .sort(),
    ).toEqual(NODES.map((k) => `10.213.0.${k}`));
    expect(await imageIds(img.ref)).toEqual(NODES.map(() => img.id));
    const again = await stage(img.ref, "--pull-once");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/\S+sdtc-once-\w+:\w+@sha256:[0-9a-f]{12} was on all 4 nodes already/);
    const quiet = accessLogMark("open");
    const r = await job(img.ref, "--pull=never");
    expect(r.code, r.stderr).toBe(0);
    expect(marks(r.stdout)).toEqual(everyNode(img.mark));
    expect(blobFetches("open", img.repo, img.layer, quiet)).toEqual([]);
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });

  test("--pull-once stages it with one fetch; a job then runs the copies that came through the relay, fetching nothing", async () => {
    const img = await image();
    const mark = accessLogMark("open");
    const staged = await stage(img.ref, "--pull-once");
    expect(staged.code, staged.stderr).toBe(0);
    expect(staged.stderr).toMatch(/\(1 from the registry, 2 from node1, 1 from node2\)/);
    expect(blobFetches("open", img.repo, img.layer, mark).map((f) => f.remote)).toEqual(["10.213.0.1"]);
    // Without --pull=never: a copy run by a digest its engine does not know would be pulled again.
    const r = await job(img.ref);
    expect(r.code, r.stderr).toBe(0);
    expect(marks(r.stdout)).toEqual(everyNode(img.mark));
    expect(blobFetches("open", img.repo, img.layer, mark).map((f) => f.remote)).toEqual(["10.213.0.1"]);
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });

  test("an image that is in no registry: exit 1, one line naming the node and the registry", async () => {
    const r = await stage(`${reg.open.host}/sdtc-once-none-${uniqueTag()}:1`, "--pull-once");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot pull `\S+sdtc-once-none-\w+:1` on node1 from \S+: /);
    expect(await leftoversOn(NODES, UID)).toEqual({ containers: [], processes: [] });
  });
});

test("--container=ARCHIVE: a docker save archive on the shared home, loaded on every node as one image, runs", async () => {
  const img = await image(2);
  const archive = path.join(ws.dir, "image.tar");
  const saved = await inNode(1, [
    "sh",
    "-c",
    `docker pull -q ${img.ref} >/dev/null && docker save -o ${archive} ${img.ref} && docker rmi -f ${img.ref} >/dev/null`,
  ]);
  expect(saved.code, saved.stderr).toBe(0);
  chownSync(archive, UID, UID);
  const r = await job(archive);
  expect(r.code, r.stderr).toBe(0);
  expect(marks(r.stdout)).toEqual(everyNode(img.mark));
  expect(await imageIds(img.id)).toEqual(NODES.map(() => img.id));
  execFileSync("rm", ["-f", archive]);
});
