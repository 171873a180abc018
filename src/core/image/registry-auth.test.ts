import { describe, expect, test } from "vitest";
import { parseImageReference } from "./image-reference.js";
import {
  decodeAuthEntry,
  dockerConfigPath,
  dockerHelperFor,
  findDockerAuthEntry,
  findPodmanAuthEntry,
  parseAuthFile,
  parseHelperAnswer,
  podmanAuthFiles,
  podmanAuthKeys,
  registryAuthHeader,
} from "./registry-auth.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const file = (auths: object, more: object = {}) => parseAuthFile(JSON.stringify({ auths, ...more }), "/h/config.json");

describe("parseAuthFile", () => {
  test("reads auths, credHelpers and credsStore; ignores what is not theirs", () => {
    const parsed = parseAuthFile(
      JSON.stringify({ auths: { a: {} }, credHelpers: { r: "pass", bad: 1 }, credsStore: "desktop", psFormat: "x" }),
      "f",
    );
    expect(parsed).toEqual({ auths: { a: {} }, credHelpers: { r: "pass" }, credsStore: "desktop" });
  });
  test("an empty object is no logins", () => {
    expect(parseAuthFile("{}", "f")).toEqual({ auths: {}, credHelpers: {}, credsStore: undefined });
  });
  test.each(["", "[]", "null", "{"])("%j is an error naming the file", (text) => {
    expect(() => parseAuthFile(text, "/h/.docker/config.json")).toThrow("/h/.docker/config.json is not a JSON object");
  });
});

describe("docker's lookup", () => {
  const config = file({
    "https://index.docker.io/v1/": { auth: b64("hub:pw") },
    "https://reg.example:5000/v2/": { auth: b64("u:p") },
    "other.example": { username: "o", password: "op" },
  });
  test.each([
    ["https://index.docker.io/v1/", "https://index.docker.io/v1/"],
    ["reg.example:5000", "https://reg.example:5000/v2/"],
    ["other.example", "other.example"],
    ["reg.example", undefined],
    ["docker.io", undefined],
  ])("%s → key %s", (key, expected) => expect(findDockerAuthEntry(config, key)?.key).toBe(expected));

  test("credHelpers for the key win over credsStore", () => {
    const helpers = file({}, { credHelpers: { "reg.example": "ecr-login" }, credsStore: "desktop" });
    expect([dockerHelperFor(helpers, "reg.example"), dockerHelperFor(helpers, "other")]).toEqual([
      "ecr-login",
      "desktop",
    ]);
    expect(dockerHelperFor(file({}), "reg.example")).toBeUndefined();
  });
});

describe("podman's lookup", () => {
  const ref = parseImageReference("reg.example:5000/team/app:1");
  test("keys: most specific first", () => {
    expect(podmanAuthKeys(ref)).toEqual(["reg.example:5000/team/app", "reg.example:5000/team", "reg.example:5000"]);
  });
  test.each<[object, string | undefined]>([
    [{ "reg.example:5000": {}, "reg.example:5000/team": {} }, "reg.example:5000/team"],
    [{ "reg.example:5000": {} }, "reg.example:5000"],
    [{ "https://reg.example:5000/v1/": {} }, "https://reg.example:5000/v1/"],
    [{ "reg.example:5000/other": {} }, undefined],
    [{ "reg.example": {} }, undefined],
  ])("%j → %s", (auths, expected) => expect(findPodmanAuthEntry(file(auths), ref)?.key).toBe(expected));
  test.each([
    ["docker.io", "docker.io"],
    ["https://index.docker.io/v1/", "https://index.docker.io/v1/"],
    ["registry-1.docker.io", "registry-1.docker.io"],
  ])("Docker Hub is found under %s", (key, expected) => {
    expect(findPodmanAuthEntry(file({ [key]: {} }), parseImageReference("ubuntu"))?.key).toBe(expected);
  });
});

describe("decodeAuthEntry", () => {
  test.each<[object, object]>([
    [{ auth: b64("alice:s3cr:et") }, { kind: "basic", username: "alice", password: "s3cr:et" }],
    [
      { username: "bob", password: "pw" },
      { kind: "basic", username: "bob", password: "pw" },
    ],
    [
      { auth: b64("alice:pw"), identitytoken: "refresh" },
      { kind: "identity-token", username: "", token: "refresh" },
    ],
    [
      { username: "u", identitytoken: "refresh" },
      { kind: "identity-token", username: "u", token: "refresh" },
    ],
    [{}, { kind: "anonymous" }],
    [{ auth: "" }, { kind: "anonymous" }],
  ])("%j", (entry, expected) => expect(decodeAuthEntry(entry, "x")).toEqual(expected));

  test("a broken auth is an error that names where, not what", () => {
    expect(() => decodeAuthEntry({ auth: b64("nocolonsecret") }, "`reg` in /h/config.json")).toThrow(
      "the login for `reg` in /h/config.json is not `user:password` in base64",
    );
    try {
      decodeAuthEntry({ auth: b64("nocolonsecret") }, "x");
    } catch (error) {
      expect(JSON.stringify(error) + String(error) + (error as { hint?: string }).hint).not.toContain("nocolonsecret");
    }
  });
});

test.each<[string, object]>([
  ['{"ServerURL":"r","Username":"u","Secret":"s"}', { kind: "basic", username: "u", password: "s" }],
  ['{"ServerURL":"r","Username":"<token>","Secret":"t"}', { kind: "identity-token", username: "", token: "t" }],
  ['{"ServerURL":"r","Username":"","Secret":""}', { kind: "anonymous" }],
])("parseHelperAnswer(%s)", (stdout, expected) => expect(parseHelperAnswer(stdout, "h")).toEqual(expected));

test("parseHelperAnswer: not JSON credentials is an error naming the helper", () => {
  expect(() => parseHelperAnswer("oops", "docker-credential-x")).toThrow("`docker-credential-x get` did not answer");
});

test("registryAuthHeader: padded base64url JSON, as dockerd decodes it", () => {
  const decode = (header: string | undefined) =>
    JSON.parse(Buffer.from(header?.replace(/-/g, "+").replace(/_/g, "/") ?? "", "base64").toString());
  const basic = registryAuthHeader({ kind: "basic", username: "u?>", password: "p?>~" }, "reg:5000");
  expect(basic).toMatch(/^[A-Za-z0-9_-]+=*$/);
  expect((basic ?? "").length % 4).toBe(0);
  expect(decode(basic)).toEqual({ username: "u?>", password: "p?>~", serveraddress: "reg:5000" });
  expect(decode(registryAuthHeader({ kind: "identity-token", username: "", token: "t" }, "h"))).toEqual({
    identitytoken: "t",
    serveraddress: "h",
  });
  expect(registryAuthHeader({ kind: "anonymous" }, "h")).toBeUndefined();
});

test.each<[NodeJS.ProcessEnv, number, string[]]>([
  [{}, 1000, ["/run/containers/1000/auth.json", "/h/.config/containers/auth.json", "/h/.docker/config.json"]],
  [
    { XDG_RUNTIME_DIR: "/run/user/1000", XDG_CONFIG_HOME: "/cfg", DOCKER_CONFIG: "/dc" },
    1000,
    ["/run/user/1000/containers/auth.json", "/cfg/containers/auth.json", "/dc/config.json"],
  ],
  [{ REGISTRY_AUTH_FILE: "/mine.json", XDG_RUNTIME_DIR: "/run/user/1000" }, 1000, ["/mine.json"]],
])("podmanAuthFiles(%j, %i)", (env, uid, expected) => expect(podmanAuthFiles(env, "/h", uid)).toEqual(expected));

test("dockerConfigPath honours DOCKER_CONFIG", () => {
  expect(dockerConfigPath({}, "/h")).toBe("/h/.docker/config.json");
  expect(dockerConfigPath({ DOCKER_CONFIG: "/d" }, "/h")).toBe("/d/config.json");
});
