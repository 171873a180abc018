import { expect, test } from "vitest";
import { hasDigest, loadedName, parseImageInspect, repoDigestFor } from "./image-inspect.js";
import { parseImageReference } from "./image-reference.js";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;

test.each<[string, object | undefined]>([
  [JSON.stringify({ Id: "sha256:1", RepoDigests: [`ubuntu@${A}`] }), { id: "sha256:1", repoDigests: [`ubuntu@${A}`] }],
  [JSON.stringify([{ Id: "2", RepoDigests: null }]), { id: "sha256:2", repoDigests: [] }],
  [JSON.stringify({ Id: "sha256:3", RepoDigests: [1, `x@${A}`] }), { id: "sha256:3", repoDigests: [`x@${A}`] }],
  [
    JSON.stringify({ Id: "sha256:4", RepoDigests: [], Config: { Env: ["A=1", "PATH=/opt/x/bin:/usr/bin"] } }),
    { id: "sha256:4", repoDigests: [], path: "/opt/x/bin:/usr/bin" },
  ],
  [JSON.stringify({ Id: "sha256:5", Size: 1234 }), { id: "sha256:5", repoDigests: [], size: 1234 }],
  [JSON.stringify({ Id: "sha256:6", Size: -1 }), { id: "sha256:6", repoDigests: [] }],
  [
    JSON.stringify({ Id: "sha256:7", Config: { Entrypoint: ["/init.sh", "-v"] } }),
    { id: "sha256:7", repoDigests: [], entrypoint: ["/init.sh", "-v"] },
  ],
  [JSON.stringify({ Id: "sha256:8", Config: { Entrypoint: null } }), { id: "sha256:8", repoDigests: [] }],
  ["[]", undefined],
  ["{}", undefined],
  ["nope", undefined],
])("parseImageInspect(%s)", (json, expected) => expect(parseImageInspect(json)).toEqual(expected));

test("repoDigestFor: docker's short Hub names and podman's long ones are the same repository", () => {
  const image = { id: "sha256:1", repoDigests: [`reg:5000/other@${B}`, `ubuntu@${A}`, "not a reference!"] };
  expect(repoDigestFor(image, parseImageReference("docker.io/library/ubuntu:22.04"))).toBe(A);
  expect(
    repoDigestFor({ id: "x", repoDigests: [`docker.io/library/ubuntu@${A}`] }, parseImageReference("ubuntu")),
  ).toBe(A);
  expect(repoDigestFor(image, parseImageReference("reg:5000/team/app"))).toBeUndefined();
});

test("hasDigest: this digest, from this repository", () => {
  const image = { id: "sha256:1", repoDigests: [`reg:5000/team/app@${A}`, `reg:5000/other@${B}`] };
  const ref = parseImageReference("reg:5000/team/app:1");
  expect([hasDigest(image, ref, A), hasDigest(image, ref, B)]).toEqual([true, false]);
});

test.each([
  ["Loaded image: reg:5000/app:1\n", "reg:5000/app:1"],
  [`Loaded image ID: ${A}\n`, A],
  [`Loaded image(s): localhost/app:1,localhost/app:2\n`, "localhost/app:1"],
  [`Getting image source signatures\nLoaded image: ${B}\n`, B],
  ["nothing\n", undefined],
])("loadedName(%j)", (stdout, name) => expect(loadedName(stdout)).toBe(name));
