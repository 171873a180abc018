import { describe, expect, test } from "vitest";
import { UserError } from "../common/index.js";
import {
  canonicalString,
  credentialKey,
  familiarString,
  type ImageReference,
  isDigest,
  manifestReference,
  parseImageReference,
  parseImageSource,
  pinnedString,
  registryApiHost,
} from "./image-reference.js";

const HEX = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
const ref = (domain: string, path: string, tag?: string, digest?: string): ImageReference => ({
  domain,
  path,
  tag,
  digest,
});

describe("parseImageReference: what docker would pull", () => {
  test.each<[string, ImageReference]>([
    ["ubuntu", ref("docker.io", "library/ubuntu")],
    ["ubuntu:22.04", ref("docker.io", "library/ubuntu", "22.04")],
    ["user/app:1", ref("docker.io", "user/app", "1")],
    ["docker.io/ubuntu", ref("docker.io", "library/ubuntu")],
    ["docker.io/library/ubuntu", ref("docker.io", "library/ubuntu")],
    ["index.docker.io/ubuntu", ref("docker.io", "library/ubuntu")],
    ["docker.io/user/sub/app", ref("docker.io", "user/sub/app")],
    // The first component is a host only with a `.`, a `:`, `localhost`, or an upper-case letter.
    ["foo_bar/baz", ref("docker.io", "foo_bar/baz")],
    ["localhost/app", ref("localhost", "app")],
    ["localhost:5000/app:v1", ref("localhost:5000", "app", "v1")],
    ["reg:5000/app", ref("reg:5000", "app")],
    ["reg.example.com/a/b/c:tag", ref("reg.example.com", "a/b/c", "tag")],
    ["Registry/app", ref("Registry", "app")],
    ["[::1]:5000/app:1", ref("[::1]:5000", "app", "1")],
    ["10.0.0.1:5000/team/app", ref("10.0.0.1:5000", "team/app")],
    // `:5000` ends the host, not a tag: the first `/` decides.
    ["reg.io:5000/app:5000", ref("reg.io:5000", "app", "5000")],
    [`app@sha256:${HEX}`, ref("docker.io", "library/app", undefined, `sha256:${HEX}`)],
    [`reg:5000/app:1.2@sha256:${HEX}`, ref("reg:5000", "app", "1.2", `sha256:${HEX}`)],
    ["a__b/c-d--e.f_g", ref("docker.io", "a__b/c-d--e.f_g")],
    [`app:${"t".repeat(128)}`, ref("docker.io", "library/app", "t".repeat(128))],
    ["app:_W.-1", ref("docker.io", "library/app", "_W.-1")],
    // A file name is a name to docker: only a path (./x.tar) is an archive.
    ["image.tar", ref("docker.io", "library/image.tar")],
  ])("%s", (text, expected) => expect(parseImageReference(text)).toEqual(expected));

  test.each<[string, string]>([
    ["", "repository name must have at least one component"],
    ["UBUNTU", "repository name (library/UBUNTU) must be lowercase"],
    ["foo/Bar:1", "repository name (foo/Bar) must be lowercase"],
    ["reg.io/App", "repository name (App) must be lowercase"],
    ["app:", "invalid reference format"],
    [":tag", "invalid reference format"],
    ["app:-x", "invalid reference format"],
    [`app:${"t".repeat(129)}`, "invalid reference format"],
    ["a..b", "invalid reference format"],
    ["a___b", "invalid reference format"],
    ["app-", "invalid reference format"],
    ["app//x", "invalid reference format"],
    ["reg:port/app", "invalid reference format"],
    ["reg.io:5000/", "invalid reference format"],
    ["app with space", "invalid reference format"],
    ["app:1@", "invalid reference format"],
    // Parses in Go as a name with no domain; docker could not pull it either. Refused here.
    ["a.b_c/x", "invalid reference format"],
    [`app@sha256:${HEX.slice(1)}`, "invalid checksum digest length"],
    [`app@sha256:${HEX.toUpperCase()}`, "invalid checksum digest format"],
    [`app@md5:${HEX.slice(0, 32)}`, "unsupported digest algorithm `md5`"],
    [`reg.io/${"a".repeat(250)}`, "repository name must not be more than 255 characters"],
  ])("%j is refused: %s", (text, why) => {
    expect(() => parseImageReference(text)).toThrow(`\`${text}\` is not an image reference: ${why}`);
  });

  test("the error is a usage error with the forms in its hint", () => {
    const error = (() => {
      try {
        parseImageReference("Bad");
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ exitCode: 2, code: "image-reference" });
    expect((error as UserError).hint).toContain("[HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST]");
  });

  test("255 characters of domain and path are still a name", () => {
    const text = `reg.io/${"a".repeat(249)}`;
    expect(parseImageReference(text).path).toHaveLength(249);
  });
});

describe("parseImageSource", () => {
  test.each([
    ["/data/images/app.tar", { kind: "archive", path: "/data/images/app.tar" }],
    ["./app.tar", { kind: "archive", path: "./app.tar" }],
    ["../app.tar.gz", { kind: "archive", path: "../app.tar.gz" }],
    ["/x/app.tgz", { kind: "archive", path: "/x/app.tgz" }],
    ["/x/app.tar.zst", { kind: "archive", path: "/x/app.tar.zst" }],
    [`sha256:${HEX}`, { kind: "image-id", id: `sha256:${HEX}` }],
    [HEX, { kind: "image-id", id: `sha256:${HEX}` }],
    ["ubuntu:22.04", { kind: "registry", ref: ref("docker.io", "library/ubuntu", "22.04") }],
  ])("%s", (text, expected) => expect(parseImageSource(text)).toEqual(expected));

  test.each(["/data/images", "./app.zip", "../dir/"])("%s: a path that is no archive is refused", (text) => {
    expect(() => parseImageSource(text)).toThrow("a path, but not of a `docker save` archive");
  });
});

describe("rendering", () => {
  const hub = parseImageReference("ubuntu");
  const tagged = parseImageReference("reg.io:5000/team/app:1.2");
  const both = parseImageReference(`user/app:1@sha256:${HEX}`);
  const digestOnly = parseImageReference(`app@sha256:${HEX}`);

  test.each<[string, ImageReference, string, string, string, string, string]>([
    [
      "hub",
      hub,
      "latest",
      "docker.io/library/ubuntu:latest",
      "ubuntu",
      "https://index.docker.io/v1/",
      "registry-1.docker.io",
    ],
    ["private", tagged, "1.2", "reg.io:5000/team/app:1.2", "reg.io:5000/team/app:1.2", "reg.io:5000", "reg.io:5000"],
    [
      "tag and digest",
      both,
      `sha256:${HEX}`,
      `docker.io/user/app:1@sha256:${HEX}`,
      `user/app:1@sha256:${HEX}`,
      "https://index.docker.io/v1/",
      "registry-1.docker.io",
    ],
    [
      "digest only",
      digestOnly,
      `sha256:${HEX}`,
      `docker.io/library/app@sha256:${HEX}`,
      `app@sha256:${HEX}`,
      "https://index.docker.io/v1/",
      "registry-1.docker.io",
    ],
  ])("%s", (_, r, manifest, canonical, familiar, key, host) => {
    expect([manifestReference(r), canonicalString(r), familiarString(r), credentialKey(r), registryApiHost(r)]).toEqual(
      [manifest, canonical, familiar, key, host],
    );
  });

  test("pinnedString drops the tag: the digest is the image", () => {
    expect(pinnedString(tagged, `sha256:${HEX}`)).toBe(`reg.io:5000/team/app@sha256:${HEX}`);
  });

  test("familiarString keeps library/ where docker does (nested names)", () => {
    expect(familiarString(parseImageReference("library/a/b"))).toBe("library/a/b");
  });

  test.each([
    [`sha256:${HEX}`, true],
    [`sha256:${HEX.toUpperCase()}`, false],
    [`sha256:${HEX}0`, false],
    [HEX, false],
  ])("isDigest(%s) = %s", (text, expected) => expect(isDigest(text)).toBe(expected));
});
