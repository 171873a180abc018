// The registry client against a real HTTPS registry on 127.0.0.1 (registry-fake.test-support.ts:
// distribution 2.8's answers, a throwaway CA from openssl), trusting that CA the way the
// engine does: a certs.d/<host:port>/ca.crt.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RegistryAuth } from "../../core/image/index.js";
import { parseImageReference } from "../../core/image/index.js";
import type { Timers } from "../process/index.js";
import { type ResolveOptions, resolveImageDigest } from "./registry-client.js";
import {
  type FakeRegistry,
  type FakeRegistryOptions,
  makeTestCa,
  startFakeRegistry,
  type TestCa,
} from "./registry-fake.test-support.js";
import { loadRegistryTrust, type RegistryTrust } from "./registry-tls.js";

const APP = '{"schemaVersion":2,"manifests":[]}';
const OTHER = '{"schemaVersion":2,"manifests":[{"x":1}]}';
const repositories = {
  "team/app": { tags: { "1.2": APP, latest: OTHER } },
  "pub/tool": { tags: { v1: OTHER }, public: true },
};
const users = { alice: "s3cret" };
const ALICE: RegistryAuth = { kind: "basic", username: "alice", password: "s3cret" };

let ca: TestCa;
let registry: FakeRegistry | undefined;
const trusts = new Map<string, RegistryTrust>();

beforeAll(() => {
  ca = makeTestCa();
});
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});
afterAll(() => ca.cleanUp());

async function start(options: Partial<FakeRegistryOptions> = {}): Promise<FakeRegistry> {
  registry = await startFakeRegistry(ca, { auth: "token", users, repositories, ...options });
  const certs = path.join(ca.dir, "certs.d");
  mkdirSync(path.join(certs, registry.host), { recursive: true });
  writeFileSync(path.join(certs, registry.host, "ca.crt"), ca.caPem);
  trusts.set(
    registry.host,
    await loadRegistryTrust(registry.host, { engine: "docker", certsDirs: [certs], systemBundles: [] }),
  );
  return registry;
}

/** Sleeps end at once; the clock moves by what was slept; each pause is recorded. */
function fakeTimers(): Timers & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    setTimeout: (callback, ms) => {
      slept.push(ms);
      now += ms;
      return setImmediate(callback);
    },
    clearTimeout: () => {},
  };
}

function resolve(reg: FakeRegistry, image: string, auth: RegistryAuth, more: Partial<ResolveOptions> = {}) {
  const trust = trusts.get(reg.host);
  if (trust === undefined) throw new Error("no trust");
  return resolveImageDigest(parseImageReference(`${reg.host}/${image}`), { auth, trust, random: () => 0.5, ...more });
}

describe("token auth (distribution with a token server)", () => {
  test("a tag resolves to the manifest's digest: 401, a token with the login, HEAD again", async () => {
    const reg = await start();
    const debug: string[] = [];
    const result = await resolve(reg, "team/app:1.2", ALICE, { debug: (line) => debug.push(line) });
    expect(result).toEqual({ kind: "resolved", digest: reg.digestOf(APP), attempts: 1 });
    expect(reg.requests).toEqual([
      "HEAD /v2/team/app/manifests/1.2 -",
      "GET /token Basic",
      "HEAD /v2/team/app/manifests/1.2 Bearer",
    ]);
    expect(debug.join("\n")).not.toMatch(/s3cret|tok-/);
  });

  test("no tag means latest; a digest is checked, not trusted", async () => {
    const reg = await start();
    expect(await resolve(reg, "team/app", ALICE)).toMatchObject({ digest: reg.digestOf(OTHER) });
    expect(await resolve(reg, `team/app@${reg.digestOf(APP)}`, ALICE)).toMatchObject({ digest: reg.digestOf(APP) });
  });

  test("a public repository: an anonymous token", async () => {
    const reg = await start();
    expect(await resolve(reg, "pub/tool:v1", { kind: "anonymous" })).toMatchObject({ kind: "resolved" });
    expect(reg.requests[1]).toBe("GET /token -");
  });

  test("an identity token is exchanged by the OAuth2 refresh grant", async () => {
    const reg = await start({ refreshTokens: { "refresh-1": "alice" } });
    const auth: RegistryAuth = { kind: "identity-token", username: "", token: "refresh-1" };
    expect(await resolve(reg, "team/app:1.2", auth)).toMatchObject({ digest: reg.digestOf(APP) });
    expect(reg.requests[1]).toBe("POST /token -");
  });

  test.each<[string, RegistryAuth, string, string]>([
    [
      "no login, private repository",
      { kind: "anonymous" },
      "team/app:1.2",
      "authentication required (HTTP 401), without a login",
    ],
    [
      "a wrong password",
      { kind: "basic", username: "alice", password: "nope" },
      "team/app:1.2",
      "token server 127.0.0.1",
    ],
  ])("%s: unauthorized", async (_, auth, image, detail) => {
    const reg = await start();
    const result = await resolve(reg, image, auth);
    expect(result).toMatchObject({ kind: "failed", failure: { kind: "unauthorized" } });
    if (result.kind === "failed") expect(result.failure.detail).toContain(detail);
  });

  test.each<[string, string]>([
    ["team/app:9.9", "manifest-unknown"],
    ["team/nope:1", "name-unknown"],
  ])("%s: %s, read from a GET's error body after the HEAD's bare 404", async (image, kind) => {
    const reg = await start();
    expect(await resolve(reg, image, ALICE)).toMatchObject({ kind: "failed", failure: { kind, status: 404 } });
    expect(reg.requests.at(-1)).toMatch(/^GET \/v2\/team\/.*Bearer$/);
  });

  test("denied: forbidden", async () => {
    const reg = await start({ denied: { "team/app": ["alice"] } });
    expect(await resolve(reg, "team/app:1.2", ALICE)).toMatchObject({ failure: { kind: "forbidden", status: 403 } });
  });
});

describe("basic auth (distribution with htpasswd)", () => {
  test("the login goes as basic auth after the 401", async () => {
    const reg = await start({ auth: "basic" });
    expect(await resolve(reg, "team/app:1.2", ALICE)).toMatchObject({ digest: reg.digestOf(APP) });
    expect(reg.requests).toEqual(["HEAD /v2/team/app/manifests/1.2 -", "HEAD /v2/team/app/manifests/1.2 Basic"]);
  });

  test.each<[RegistryAuth, string]>([
    [{ kind: "anonymous" }, "there is no login for it"],
    [{ kind: "basic", username: "alice", password: "nope" }, "authentication required (HTTP 401), with your login"],
  ])("%j: unauthorized", async (auth, detail) => {
    const reg = await start({ auth: "basic" });
    const result = await resolve(reg, "team/app:1.2", auth);
    expect(result).toMatchObject({ failure: { kind: "unauthorized" } });
    if (result.kind === "failed") expect(result.failure.detail).toContain(detail);
  });
});

describe("what docker pull also copes with", () => {
  test("no Docker-Content-Digest: the manifest is fetched and hashed", async () => {
    const reg = await start({ auth: "none", omitDigestHeader: true });
    expect(await resolve(reg, "team/app:1.2", { kind: "anonymous" })).toMatchObject({ digest: reg.digestOf(APP) });
    expect(reg.requests.map((r) => r.split(" ")[0])).toEqual(["HEAD", "GET"]);
  });

  test("429 and 5xx and a reset connection are retried with back-off; Retry-After is honoured", async () => {
    const reg = await start({ auth: "none" });
    reg.faults.push({ status: 429, headers: { "Retry-After": "7" } }, { status: 503 }, "reset");
    const timers = fakeTimers();
    const result = await resolve(reg, "team/app:1.2", { kind: "anonymous" }, { timers });
    expect(result).toMatchObject({ kind: "resolved", attempts: 4 });
    expect(timers.slept).toEqual([7000, 1500, 3000]);
  });

  test("a registry that keeps failing: the last failure after the policy's tries", async () => {
    const reg = await start({ auth: "none" });
    reg.faults.push(...Array.from({ length: 5 }, () => ({ status: 502 })));
    const timers = fakeTimers();
    const result = await resolve(reg, "team/app:1.2", { kind: "anonymous" }, { timers });
    expect(result).toEqual({
      kind: "failed",
      failure: { kind: "server-error", detail: "HTTP 502", status: 502 },
      attempts: 5,
    });
    expect(timers.slept).toHaveLength(4);
  });

  test("the deadline ends the retries", async () => {
    const reg = await start({ auth: "none" });
    reg.faults.push({ status: 503 }, { status: 503 }, { status: 503 });
    const timers = fakeTimers();
    const result = await resolve(reg, "team/app:1.2", { kind: "anonymous" }, { timers, deadline: 2000 });
    expect(result).toMatchObject({ kind: "failed", failure: { kind: "server-error" }, attempts: 2 });
  });

  test("a certificate the engine does not trust: tls", async () => {
    const reg = await start({ auth: "none" });
    const untrusted = { ca: [], files: [] };
    const result = await resolveImageDigest(parseImageReference(`${reg.host}/team/app:1.2`), {
      auth: { kind: "anonymous" },
      trust: untrusted,
    });
    expect(result).toMatchObject({ kind: "failed", failure: { kind: "tls" }, attempts: 1 });
  });

  test("nothing listening: unreachable, not retried", async () => {
    const reg = await start({ auth: "none" });
    const host = reg.host;
    await reg.close();
    registry = undefined;
    const result = await resolveImageDigest(parseImageReference(`${host}/team/app`), {
      auth: { kind: "anonymous" },
      trust: { ca: [], files: [] },
    });
    expect(result).toMatchObject({ kind: "failed", failure: { kind: "unreachable" }, attempts: 1 });
  });
});
