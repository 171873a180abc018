import { expect, test } from "vitest";
import { parseAuthChallenges, pullScope, readToken, refreshTokenForm, tokenRequestUrl } from "./registry-challenge.js";

test.each<[string[], object[]]>([
  [
    ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"'],
    [
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.docker.io/token",
          service: "registry.docker.io",
          scope: "repository:library/ubuntu:pull",
        },
      },
    ],
  ],
  [['Basic realm="Registry Realm"'], [{ scheme: "basic", params: { realm: "Registry Realm" } }]],
  // Two challenges in one header, and a second header; spacing and case as servers send them.
  [
    ['Basic realm="a, b", BEARER Realm = "https://t/x" , service=reg', "Negotiate"],
    [
      { scheme: "basic", params: { realm: "a, b" } },
      { scheme: "bearer", params: { realm: "https://t/x", service: "reg" } },
      { scheme: "negotiate", params: {} },
    ],
  ],
  [
    ['Bearer realm="say \\"hi\\"",error="insufficient_scope"'],
    [{ scheme: "bearer", params: { realm: 'say "hi"', error: "insufficient_scope" } }],
  ],
  // Unreadable rest: what was read is kept, nothing is guessed.
  [['Bearer realm="unterminated'], [{ scheme: "bearer", params: {} }]],
  [[""], []],
])("parseAuthChallenges(%j)", (headers, expected) => expect(parseAuthChallenges(headers)).toEqual(expected));

test("tokenRequestUrl: realm + service + the pull scope, and the challenge's own scope when it differs", () => {
  const [challenge] = parseAuthChallenges([
    'Bearer realm="https://auth.example/token?x=1",service="reg",scope="registry:catalog:*"',
  ]);
  if (challenge === undefined) throw new Error("no challenge");
  expect(tokenRequestUrl(challenge, "team/app")?.toString()).toBe(
    "https://auth.example/token?x=1&service=reg&scope=repository%3Ateam%2Fapp%3Apull&scope=registry%3Acatalog%3A*",
  );
  const same = { scheme: "bearer", params: { realm: "https://a/t", scope: pullScope("team/app") } };
  expect(tokenRequestUrl(same, "team/app")?.searchParams.getAll("scope")).toEqual(["repository:team/app:pull"]);
});

test.each([{}, { realm: "not a url" }, { realm: "file:///etc/passwd" }])(
  "tokenRequestUrl(%j) = undefined",
  (params) => {
    expect(tokenRequestUrl({ scheme: "bearer", params }, "a")).toBeUndefined();
  },
);

test("refreshTokenForm: OAuth2 refresh grant for the pull scope", () => {
  const form = new URLSearchParams(
    refreshTokenForm({ scheme: "bearer", params: { service: "reg" } }, "team/app", "r&t"),
  );
  expect(Object.fromEntries(form)).toEqual({
    grant_type: "refresh_token",
    refresh_token: "r&t",
    service: "reg",
    scope: "repository:team/app:pull",
    client_id: "srun-docker",
  });
});

test.each([
  ['{"token":"t1","expires_in":300}', "t1"],
  ['{"access_token":"t2"}', "t2"],
  ['{"token":"","access_token":"t3"}', "t3"],
  ["{}", undefined],
  ["<html>", undefined],
])("readToken(%s) = %s", (body, expected) => expect(readToken(body)).toBe(expected));
