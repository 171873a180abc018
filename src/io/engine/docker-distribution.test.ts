// A tag's digest through dockerd's `/distribution` against an HTTP server on a unix socket that
// answers with the bodies Docker 20.10 gave on the test cluster (test/e2e/pull.test.ts asks
// the real daemons).
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import type { RegistryAuth } from "../../core/image/index.js";
import { parseImageReference } from "../../core/image/index.js";
import type { Timers } from "../process/index.js";
import { createDockerApi } from "./docker-api.js";
import { dockerDistributionRequest, resolveWithDockerApi } from "./docker-distribution.js";

const DIGEST = `sha256:${"d".repeat(64)}`;
const FOUND = JSON.stringify({
  Descriptor: { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest: DIGEST, size: 428 },
  Platforms: [{ architecture: "amd64", os: "linux" }],
});
const ALICE: RegistryAuth = { kind: "basic", username: "alice", password: "s3cret" };

let dir: string;
let socketPath: string;
let server: Server;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
/** What the daemon answers next, one per request: a status and a body. */
const answers: [number, string][] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "docker-distribution-"));
  socketPath = path.join(dir, "docker.sock");
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    const [status, body] = answers.shift() ?? [500, '{"message":"no answer set"}'];
    res.writeHead(status, { "Content-Type": "application/json" }).end(body);
  });
  await new Promise<void>((done) => server.listen(socketPath, done));
});
beforeEach(() => {
  seen.length = 0;
  answers.length = 0;
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  rmSync(dir, { recursive: true, force: true });
});

const decode = (header: string) => JSON.parse(Buffer.from(header, "base64url").toString("utf8"));

test.each<[string, RegistryAuth, string, unknown]>([
  ["reg:5000/team/app:1.2", { kind: "anonymous" }, "/distribution/reg:5000/team/app:1.2/json", undefined],
  ["ubuntu", { kind: "anonymous" }, "/distribution/docker.io/library/ubuntu:latest/json", undefined],
  [
    "reg:5000/team/app:1.2",
    ALICE,
    "/distribution/reg:5000/team/app:1.2/json",
    { username: "alice", password: "s3cret", serveraddress: "reg:5000" },
  ],
  [
    `team/app@${DIGEST}`,
    { kind: "identity-token", username: "<token>", token: "t0k" },
    `/distribution/docker.io/team/app@${DIGEST}/json`,
    { identitytoken: "t0k", serveraddress: "https://index.docker.io/v1/" },
  ],
])("%s: GET %s, the login only in X-Registry-Auth", (image, auth, wantPath, wantLogin) => {
  const { path: got, headers } = dockerDistributionRequest(parseImageReference(image), auth);
  expect(got).toBe(wantPath);
  const header = headers["X-Registry-Auth"];
  expect(header === undefined ? undefined : decode(header)).toEqual(wantLogin);
  expect(Object.keys(headers)).toEqual(wantLogin === undefined ? [] : ["X-Registry-Auth"]);
});

const resolve = (image: string, auth: RegistryAuth, timers?: Timers) =>
  resolveWithDockerApi(createDockerApi(socketPath), parseImageReference(image), auth, {
    random: () => 0.5,
    ...(timers ? { timers } : {}),
  });

test("the daemon's descriptor digest is the tag's; the login reaches the daemon in the header", async () => {
  answers.push([200, FOUND]);
  expect(await resolve("sdtc-registry:5444/private/app:1", ALICE)).toEqual({
    kind: "resolved",
    digest: DIGEST,
    attempts: 1,
  });
  expect(seen.map((s) => s.url)).toEqual(["/distribution/sdtc-registry:5444/private/app:1/json"]);
  expect(decode(String(seen[0]?.headers["x-registry-auth"]))).toMatchObject({ username: "alice" });
});

test.each<[string, RegistryAuth, [number, string], { kind: string; detail: string }]>([
  [
    "an unknown tag",
    { kind: "anonymous" },
    [404, '{"message":"manifest unknown: manifest unknown"}'],
    { kind: "manifest-unknown", detail: "manifest unknown: manifest unknown" },
  ],
  [
    "no login for a private registry",
    { kind: "anonymous" },
    [500, '{"message":"Head \\"https://r:5444/v2/p/app/manifests/1\\": no basic auth credentials"}'],
    {
      kind: "unauthorized",
      detail: 'Head "https://r:5444/v2/p/app/manifests/1": no basic auth credentials, without a login',
    },
  ],
  [
    "a wrong password",
    ALICE,
    [401, '{"message":"unauthorized: authentication required"}'],
    { kind: "unauthorized", detail: "unauthorized: authentication required, with your login" },
  ],
  [
    "the registry down",
    { kind: "anonymous" },
    [500, '{"message":"Get \\"https://r:5999/v2/\\": dial tcp 10.213.0.254:5999: connect: connection refused"}'],
    {
      kind: "unreachable",
      detail: 'Get "https://r:5999/v2/": dial tcp 10.213.0.254:5999: connect: connection refused',
    },
  ],
  [
    "a CA the daemon does not trust",
    { kind: "anonymous" },
    [500, '{"message":"Get \\"https://r:5443/v2/\\": x509: certificate signed by unknown authority"}'],
    { kind: "tls", detail: 'Get "https://r:5443/v2/": x509: certificate signed by unknown authority' },
  ],
  [
    "a schema 1 image",
    { kind: "anonymous" },
    [200, FOUND.replace("manifest.v2+json", "manifest.v1+prettyjws")],
    {
      kind: "other",
      detail:
        "application/vnd.docker.distribution.manifest.v1+prettyjws is a schema 1 manifest, which docker no longer runs",
    },
  ],
  [
    "an answer without a digest",
    { kind: "anonymous" },
    [200, '{"Descriptor":{}}'],
    { kind: "other", detail: "dockerd answered /distribution/r:5443/app:1/json without a digest" },
  ],
])("%s: failed at once, in the daemon's words", async (_name, auth, answer, failure) => {
  answers.push(answer);
  expect(await resolve("r:5443/app:1", auth)).toEqual({ kind: "failed", failure, attempts: 1 });
  expect(seen).toHaveLength(1);
});

test("a busy registry is asked again after a back-off", async () => {
  answers.push([500, '{"message":"toomanyrequests: slow down"}'], [200, FOUND]);
  const slept: number[] = [];
  let now = 0;
  const timers: Timers = {
    now: () => now,
    setTimeout: (callback, ms) => {
      slept.push(ms);
      now += ms;
      return setImmediate(callback);
    },
    clearTimeout: () => {},
  };
  expect(await resolve("r:5443/app:1", { kind: "anonymous" }, timers)).toEqual({
    kind: "resolved",
    digest: DIGEST,
    attempts: 2,
  });
  expect(slept).toEqual([750]);
});

test("no daemon on the socket: failed, the socket named", async () => {
  const api = createDockerApi(path.join(dir, "none.sock"));
  const result = await resolveWithDockerApi(api, parseImageReference("r:5443/app:1"), { kind: "anonymous" }, {});
  expect(result).toMatchObject({ kind: "failed", attempts: 1, failure: { kind: "other" } });
  expect(result.kind === "failed" && result.failure.detail).toMatch(/^cannot ask dockerd at \S+none\.sock: .*ENOENT/);
});
