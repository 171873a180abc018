// Images from the test cluster's registries: pulled on demand with progress and a
// summary, one digest for every node (a stale local copy of the tag is never used), clear
// errors for a missing tag, a missing or wrong login and a registry that is down, and nothing
// left behind. Each test pushes an image with a layer of its own, so the registry's access log
// counts exactly the fetches of this test.
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import {
  ALICE_UID,
  accessLogMark,
  blobFetches,
  cancelAllJobs,
  clusterSize,
  figure,
  inNode,
  leftoversOn,
  NOSSH_IMAGE,
  type RegistryInfo,
  type RegistryKind,
  registry,
  registryRequests,
  runAs,
  startRegistry,
  stopRegistry,
} from "./cluster.js";
import { pushedImages, pushTestImage, removeRepoFrom } from "./registry-images.js";
import { createWorkspace, type Workspace } from "./workspace.js";

let ws: Workspace;
let reg: RegistryInfo;

/** What each node's engine has under `name` (its image ID), or "" where it has none. */
async function imageIdOn(k: number, name: string): Promise<string> {
  const r = await inNode(k, ["sh", "-c", `docker image inspect -f '{{.Id}}' ${name} 2>/dev/null || true`]);
  return r.stdout.trim();
}

beforeAll(() => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  reg = registry();
  ws = createWorkspace("alice", ALICE_UID);
  // Which image each node runs: the token file is this image's own layer.
  ws.write(
    "which.sh",
    '#!/bin/bash\nfor n in $(echo "$hostlist" | tr , " " | sed "s/:[0-9]*//g"); do ssh "$n" \'echo "$(hostname) token=$(md5sum </token | cut -c1-12)"\'; done\n',
    0o755,
  );
});

afterEach(async () => {
  await startRegistry();
  await cancelAllJobs("alice", ALICE_UID, [1, 2, 3, 4]);
});

afterAll(async () => {
  // Tagged or pulled by digest alone: every image of each repository.
  for (const ref of pushedImages()) await removeRepoFrom([1, 2, 3, 4], ref.slice(0, ref.lastIndexOf(":")));
});

const cd = (cmd: string) => `cd ${ws.dir} && ${cmd}`;
const job = (image: string, more = "", nodes = "node[1-2]", n = 2) =>
  runAs(
    "alice",
    cd(`salloc -N ${n} -w ${nodes} srun srun-docker --container=${image} --script=./which.sh ${more}`),
    240_000,
  );
/**
 * `cmd` with DOCKER_CONFIG holding `login` (user:password) for the private registry, or none,
 * in the shared workspace: a node's /tmp is its own, so a config there would reach no node.
 */
const withLogin = (login: string | undefined, cmd: string) => {
  const auths =
    login === undefined ? "{}" : `{"${reg.private.host}":{"auth":"${Buffer.from(login).toString("base64")}"}}`;
  return cd(
    `export D=$(mktemp -d -p "$PWD") && printf '{"auths":${auths}}' > $D/config.json && DOCKER_CONFIG=$D ${cmd}; c=$?; rm -rf $D; exit $c`,
  );
};
const twoNodes = (image: string) =>
  `salloc -N 2 -w node[1-2] srun srun-docker --container=${image} --script=./which.sh`;
/** The registry's log of manifest requests for `repo` since `mark`: who asked, and with what. */
const manifestAsks = (kind: RegistryKind, repo: string, mark: number) =>
  registryRequests(kind, mark).filter((q) => q.path.startsWith(`/v2/${repo}/manifests/`));
/** Asked by a node's dockerd (`docker/20.10…`), not by a registry client of srun-docker's own. */
const byDockerd = (q: { userAgent: string }) => /^docker\//.test(q.userAgent);

const tokens = (stdout: string) =>
  [...stdout.matchAll(/^(node\d) token=(\w+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();

describe("pull on demand", () => {
  test("an image no node has: pulled on every node once, progress and summary shown; a second run pulls nothing", async () => {
    const image = await pushTestImage(reg.open.host, "sdtc-pull", randomBytes(4).toString("hex"));
    const mark = accessLogMark("open");
    const first = await job(image.ref);
    expect(first.code, first.stderr).toBe(0);
    const seen = tokens(first.stdout);
    expect(seen).toHaveLength(2);
    expect(new Set(seen.map((s) => s.split(" ")[1])).size).toBe(1);
    expect(first.stderr).toMatch(/pulling .*sdtc-pull/);
    const summary =
      /pulled \S+sdtc-pull:\w+@sha256:[0-9a-f]{12} on 2 nodes: [\d.]+ [kMG]?B in [\d.]+ m?s \(2 from the registry\)/;
    expect(first.stderr).toMatch(summary);
    expect(
      blobFetches("open", image.repo, image.layer, mark)
        .map((f) => f.remote)
        .sort(),
    ).toEqual(["10.213.0.1", "10.213.0.2"]);
    figure("pull of a 4 MB layer on 2 nodes", first.stderr.match(summary)?.[0] ?? "");
    // The master's own dockerd resolved the tag (GET /distribution): every manifest request is docker's.
    const asks = manifestAsks("open", image.repo, mark);
    expect(asks.some((q) => q.remote === "10.213.0.1" && q.method === "HEAD")).toBe(true);
    expect(asks.filter((q) => !byDockerd(q))).toEqual([]);
    const again = accessLogMark("open");
    const second = await job(image.ref);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/pulled /);
    expect(blobFetches("open", image.repo, image.layer, again)).toEqual([]);
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("the private registry with the user's login: the master's dockerd gets it and resolves the tag", async () => {
    const ref = reg.private.images.base;
    const repo = "private/srun-docker-test";
    const mark = accessLogMark("private");
    try {
      const r = await runAs("alice", withLogin(`${reg.private.user}:${reg.private.password}`, twoNodes(ref)), 240_000);
      expect(r.code, r.stderr).toBe(0);
      // The base image has no /token: each node answers with its name only.
      expect(r.stdout).toMatch(/^node1 token=/m);
      expect(r.stdout).toMatch(/^node2 token=/m);
      const asks = manifestAsks("private", repo, mark);
      expect(asks.some((q) => q.remote === "10.213.0.1" && q.status === 200 && q.method === "HEAD")).toBe(true);
      expect(asks.filter((q) => !byDockerd(q))).toEqual([]);
    } finally {
      // By name only (never -f): the nodes' own test image is this very image under another name.
      const names = `docker images --digests --format '{{.Repository}}@{{.Digest}}' | grep '^${reg.private.host}/${repo}@' | xargs -r docker rmi`;
      for (const k of [1, 2])
        await inNode(k, ["sh", "-c", `docker rmi ${ref} >/dev/null 2>&1; ${names} >/dev/null 2>&1; true`]);
    }
  });

  test("a stale copy of the tag on one node is never used: every node runs the master's digest", async () => {
    const image = await pushTestImage(reg.open.host, "sdtc-pin", randomBytes(4).toString("hex"));
    // node2 holds another build under the same name.
    const stale = await inNode(2, ["docker", "tag", NOSSH_IMAGE, image.ref]);
    expect(stale.code, stale.stderr).toBe(0);
    const r = await job(image.ref);
    expect(r.code, r.stderr).toBe(0);
    const seen = tokens(r.stdout);
    expect(seen.map((s) => s.split(" ")[0])).toEqual(["node1", "node2"]);
    expect(new Set(seen.map((s) => s.split(" ")[1])).size).toBe(1);
    // Pulled by digest, then named as the user named it (as `docker pull` would have).
    expect(await imageIdOn(1, image.ref)).toBe(image.id);
    expect(await imageIdOn(2, image.ref)).toBe(image.id);
  });

  test("the tag pushed again after the master pinned it: the workers still run the master's build", async () => {
    const tag = randomBytes(4).toString("hex");
    const first = await pushTestImage(reg.open.host, "sdtc-repush", tag);
    // node1 (the master) has the first build; then the tag moves to a second build (built on node4).
    expect((await inNode(1, ["docker", "pull", "-q", first.ref])).code).toBe(0);
    const second = await pushTestImage(reg.open.host, "sdtc-repush", tag, 4, 4);
    expect(second.id).not.toBe(first.id);
    const r = await job(first.ref, "", "node[1,3]");
    expect(r.code, r.stderr).toBe(0);
    expect(await imageIdOn(3, first.ref)).toBe(first.id);
    const seen = tokens(r.stdout);
    expect(seen.map((s) => s.split(" ")[0])).toEqual(["node1", "node3"]);
    expect(new Set(seen.map((s) => s.split(" ")[1])).size).toBe(1);
  });
});

describe("pull failures: one clear line each, nothing left", () => {
  test("--pull=never with the image missing on node2: names node2", async () => {
    const image = await pushTestImage(reg.open.host, "sdtc-never", randomBytes(4).toString("hex"));
    expect((await inNode(1, ["docker", "pull", "-q", image.ref])).code).toBe(0);
    const r = await job(image.ref, "--pull=never");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/node2 does not have the image \S+sdtc-never\S* \(--pull=never\)/);
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("an unknown tag: named with the registry", async () => {
    const r = await job(`${reg.open.host}/srun-docker-test:no-such-tag`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot pull `\S+srun-docker-test:no-such-tag` on node1 from \S+: /);
    // Said by the master, and echoed once by the worker it ended.
    expect(r.stderr.match(/cannot pull/g)?.length).toBe(2);
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("the private registry without a login, and with a wrong password: `docker login` is the hint", async () => {
    const ref = reg.private.images.base;
    for (const [login, said] of [
      [undefined, "without a login"],
      ["alice:wrong", "with your login"],
    ] as const) {
      const r = await runAs("alice", withLogin(login, twoNodes(ref)), 240_000);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`docker login ${reg.private.host}`);
      expect(r.stderr).toMatch(
        new RegExp(`cannot pull \\S+ on node1 from ${reg.private.host}: not authorized \\(.*, ${said}\\)`),
      );
    }
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });

  test("the registry stopped: unreachable, named", async () => {
    const image = await pushTestImage(reg.open.host, "sdtc-down", randomBytes(4).toString("hex"));
    await stopRegistry("open");
    const r = await job(image.ref);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot pull \\S+ on node1 from ${reg.open.host.replace(".", "\\.")}`));
    expect(await leftoversOn([1, 2])).toEqual({ containers: [], processes: [] });
  });
});
