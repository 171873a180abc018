// podman pull through a stand-in `podman` program that prints what podman 4.3 prints (its
// stderr lines were captured from a real pull without a terminal) and exits as it does.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { PullStreamEvent } from "../../core/image/index.js";
import { parseImageReference } from "../../core/image/index.js";
import { runCommand } from "../process/index.js";
import { inspectImageWithPodman, type PodmanPullOptions, podmanPullArgs, pullWithPodman } from "./podman-pull.js";

const ID = "cf16feb6929f6093a38a661cd70f4591b9daa864b3b58a5e06e920d0e5e4a83b";
let dir: string;
let bin: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "podman-pull-"));
  bin = path.join(dir, "podman");
  writeFileSync(
    bin,
    `#!/bin/sh
echo "$*" > "${dir}/args"
for last; do :; done
case "$1 $last" in
  "image reg:5000/team/app:1") echo '[{"Id":"${ID}","RepoDigests":["reg:5000/team/app@sha256:${"a".repeat(64)}"]}]'; exit 0 ;;
  "image broken") echo 'Error: database is locked' >&2; exit 125 ;;
  "image "*) echo "Error: $last: image not known" >&2; exit 125 ;;
esac
echo "Trying to pull $last..." >&2
case "$last" in
  */app:1)
    echo "Getting image source signatures" >&2
    echo "Copying blob sha256:5af30c773ffc1e6ac57b688a6de76f7e1d0a0bdf2a68f2b90455bd8e4567f557" >&2
    echo "Copying blob sha256:a7aa5b1cac5538f8b0078e5e140c21d6c0d7cb89037f1456a3f461c957f11593" >&2
    echo "Copying config sha256:${ID}" >&2
    echo "Writing manifest to image destination" >&2
    echo "Storing signatures" >&2
    echo "${ID}" ;;
  */app:nope)
    echo "Error: initializing source docker://$last: reading manifest nope in reg:5000/team/app: manifest unknown" >&2; exit 125 ;;
  */slow:1) trap 'echo got TERM > "${dir}/term"; exit 143' TERM; while :; do sleep 0.05; done ;;
  *) exit 7 ;;
esac
`,
  );
  chmodSync(bin, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pull = (image: string, more: Partial<PodmanPullOptions> = {}) =>
  pullWithPodman(parseImageReference(image), { bin, ...more });

test("a pull: the fully qualified reference, layers from stderr, the ID from stdout", async () => {
  const events: PullStreamEvent[] = [];
  const result = await pull("reg:5000/team/app:1", {
    authFile: "/run/user/1/auth.json",
    onEvent: (e) => events.push(e),
  });
  expect(result).toEqual({ kind: "pulled", digest: undefined, imageId: `sha256:${ID}`, upToDate: false });
  expect(readFileSync(path.join(dir, "args"), "utf8").trim()).toBe(
    "pull --authfile /run/user/1/auth.json reg:5000/team/app:1",
  );
  expect(events.filter((e) => e.kind === "layer").map((e) => e.kind === "layer" && e.id)).toEqual([
    "5af30c773ffc",
    "a7aa5b1cac55",
  ]);
  expect(events.some((e) => e.kind === "layers-complete")).toBe(true);
});

test("podmanPullArgs: Docker Hub's short names become what docker would pull", () => {
  expect(podmanPullArgs(parseImageReference("ubuntu"))).toEqual(["pull", "docker.io/library/ubuntu:latest"]);
});

test("podman's own error, classified", async () => {
  expect(await pull("reg:5000/team/app:nope")).toMatchObject({
    kind: "failed",
    failure: { kind: "manifest-unknown", detail: expect.stringContaining("reading manifest nope") },
  });
});

test("an exit without a word: the last line it said", async () => {
  expect(await pull("reg:5000/team/other:1")).toMatchObject({
    kind: "failed",
    failure: { kind: "other", detail: "Trying to pull reg:5000/team/other:1..." },
  });
});

test("past the timeout podman is ended (SIGTERM) and the pull fails with timeout", async () => {
  const result = await pull("reg:5000/team/slow:1", { timeoutMs: 300 });
  expect(result).toEqual({ kind: "failed", failure: { kind: "timeout", detail: "300 ms" } });
  expect(readFileSync(path.join(dir, "term"), "utf8")).toContain("got TERM");
});

test("an abort ends it: cancelled", async () => {
  const controller = new AbortController();
  const pending = pull("reg:5000/team/slow:1", { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  expect(await pending).toEqual({ kind: "cancelled" });
});

test("no podman: a failure saying so", async () => {
  expect(await pull("a/b", { bin: path.join(dir, "nope") })).toMatchObject({
    kind: "failed",
    failure: { detail: expect.stringContaining("is not on PATH") },
  });
});

test("inspect: the image; none; podman broken", async () => {
  const run = (file: string, args: readonly string[]) => runCommand(file, args);
  expect(await inspectImageWithPodman("reg:5000/team/app:1", run, bin)).toEqual({
    id: `sha256:${ID}`,
    repoDigests: [`reg:5000/team/app@sha256:${"a".repeat(64)}`],
  });
  expect(await inspectImageWithPodman("other", run, bin)).toBeUndefined();
  await expect(inspectImageWithPodman("broken", run, bin)).rejects.toThrow("cannot inspect image `broken` with");
});
