// Images with a layer of their own, pushed to the test cluster's registries, so a test's
// registry access log counts only its own fetches (test/e2e/pull.test.ts, podman.test.ts).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { inNode, NOSSH_IMAGE, run, STATE } from "./cluster.js";

const pushed: string[] = [];

/** Every image pushed so far by this test file, for its clean-up. */
export function pushedImages(): readonly string[] {
  return pushed;
}

/** The image's unique layer (a random file), so the access log counts only this test's fetches. */
export interface TestImage {
  ref: string;
  repo: string;
  layer: string;
  id: string;
}

/**
 * Builds `FROM NOSSH_IMAGE` plus one layer of `mb` random MB on node1, pushes it as
 * `host/repo:tag`, and removes it from node1 again: no node has that layer afterwards.
 */
export async function pushTestImage(
  host: string,
  repo: string,
  tag: string,
  mb = 4,
  buildNode = 1,
): Promise<TestImage> {
  const ref = `${host}/${repo}:${tag}`;
  const dir = mkdtempSync(path.join(STATE, "pull-test-"));
  try {
    writeFileSync(path.join(dir, "Dockerfile"), `FROM ${NOSSH_IMAGE}\nCOPY token /token\n`);
    writeFileSync(path.join(dir, "token"), randomBytes(mb * 1024 * 1024));
    const built = await buildPushAndForget(buildNode, dir, ref);
    pushed.push(ref);
    return { ref, repo, ...built };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Builds the context `dir` on node `buildNode` as `ref`, pushes it, and removes it from that node
 * again (no node keeps its layers); returns its image ID and the digest of its last layer, read
 * from the registry by the head (skopeo trusts the cluster's CA there).
 */
export async function buildPushAndForget(
  buildNode: number,
  dir: string,
  ref: string,
): Promise<{ id: string; layer: string }> {
  const script = [
    "set -e",
    `tar -C ${dir} -c . | docker build -q -t ${ref} - >/dev/null`,
    `docker push -q ${ref} >/dev/null`,
    `docker image inspect -f '{{.Id}}' ${ref}`,
    `docker rmi -f ${ref} >/dev/null`,
  ].join("\n");
  const r = await inNode(buildNode, ["bash", "-c", script], 180_000);
  if (r.code !== 0) throw new Error(`pushing ${ref}: ${r.stderr}`);
  const raw = await run("skopeo", ["inspect", "--raw", `docker://${ref}`]);
  const manifest = JSON.parse(raw.stdout) as { layers: { digest: string }[] };
  return { id: r.stdout.trim(), layer: manifest.layers.at(-1)?.digest ?? "" };
}

/** Removes every image of `repo` (any tag, or untagged by digest) from the given nodes. */
export async function removeRepoFrom(nodes: readonly number[], repoRef: string): Promise<void> {
  for (const k of nodes) {
    await inNode(k, [
      "sh",
      "-c",
      `docker images -q --no-trunc ${repoRef} | sort -u | xargs -r docker rmi -f >/dev/null 2>&1; true`,
    ]);
  }
}
