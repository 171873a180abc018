// The Engine API pull against an HTTP server on a unix socket that answers as dockerd does:
// the JSON-lines stream (sent in pieces that cut lines in two), its error lines, and the
// error bodies of a pull that fails before it starts. (The real daemon is the cluster's job.)
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { PullStreamEvent } from "../../core/image/index.js";
import { parseImageReference } from "../../core/image/index.js";
import { createDockerApi } from "../engine/index.js";
import { type DockerPullOptions, inspectImageWithDockerApi, pullWithDockerApi } from "./docker-pull.js";

const DIGEST = `sha256:${"d".repeat(64)}`;
const STREAM = [
  '{"status":"Pulling from team/app","id":"1.2"}',
  '{"status":"Pulling fs layer","progressDetail":{},"id":"bbbbbbbbbbbb"}',
  '{"status":"Downloading","progressDetail":{"current":400,"total":1000},"id":"bbbbbbbbbbbb"}',
  '{"status":"Pull complete","progressDetail":{},"id":"bbbbbbbbbbbb"}',
  `{"status":"Digest: ${DIGEST}"}`,
  '{"status":"Status: Downloaded newer image for reg:5000/team/app:1.2"}',
].join("\r\n");

let dir: string;
let socketPath: string;
let server: Server;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const open = new Set<ServerResponse>();

/** Sends `text` in pieces of 7 bytes, so lines arrive cut in two. */
async function trickle(res: ServerResponse, text: string): Promise<void> {
  for (let i = 0; i < text.length; i += 7) {
    res.write(text.slice(i, i + 7));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "docker-pull-"));
  socketPath = path.join(dir, "docker.sock");
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://docker");
    seen.push({ url: `${req.method} ${url.pathname}${url.search}`, headers: req.headers });
    const fail = (status: number, message: string) =>
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify({ message }));
    if (req.method === "GET") {
      // dockerd's router decodes the path, as here.
      if (decodeURIComponent(url.pathname) === "/images/reg:5000/team/app:1.2/json") {
        return res
          .writeHead(200)
          .end(JSON.stringify({ Id: "sha256:abc", RepoDigests: [`reg:5000/team/app@${DIGEST}`] }));
      }
      return fail(url.pathname.includes("broken") ? 500 : 404, "No such image: x");
    }
    const name = url.searchParams.get("fromImage") ?? "";
    const which = name.split("/").at(-1);
    if (which === "missing")
      return fail(404, "manifest for reg:5000/team/missing:1.2 not found: manifest unknown: manifest unknown");
    if (which === "unreachable") return fail(500, 'Get "https://reg:5000/v2/": dial tcp: lookup reg: no such host');
    res.writeHead(200, { "Content-Type": "application/json" });
    if (which === "app") {
      await trickle(res, `${STREAM}\r\n`);
      return void res.end();
    }
    if (which === "uptodate")
      return void res.end(`{"status":"Digest: ${DIGEST}"}\n{"status":"Status: Image is up to date for x"}\n`);
    if (which === "nospace") {
      const error = "failed to register layer: write /var/lib/docker/x: no space left on device";
      return void res.end(`${STREAM.split("\r\n")[1]}\n{"errorDetail":{"message":"${error}"},"error":"${error}"}\n`);
    }
    if (which === "cut") {
      res.write(`${STREAM.split("\r\n")[0]}\n`);
      return void setTimeout(() => res.destroy(), 20);
    }
    res.write(`${STREAM.split("\r\n")[0]}\n`); // "slow": never ends
    open.add(res);
    res.on("close", () => open.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const pull = (image: string, more: Partial<DockerPullOptions> = {}) =>
  pullWithDockerApi(parseImageReference(image), { socketPath, auth: { kind: "anonymous" }, ...more });

test("a pull: the request docker's CLI sends, the stream's events, the digest", async () => {
  const events: PullStreamEvent[] = [];
  const auth = { kind: "basic", username: "alice", password: "pw" } as const;
  const result = await pull("reg:5000/team/app:1.2", { auth, onEvent: (e) => events.push(e) });
  expect(result).toEqual({ kind: "pulled", digest: DIGEST, imageId: undefined, upToDate: false });
  const request = seen.at(-1);
  expect(request?.url).toBe("POST /images/create?fromImage=reg%3A5000%2Fteam%2Fapp&tag=1.2");
  const header = String(request?.headers["x-registry-auth"]);
  expect(JSON.parse(Buffer.from(header.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString())).toEqual({
    username: "alice",
    password: "pw",
    serveraddress: "reg:5000",
  });
  expect(events.map((e) => e.kind)).toEqual(["status", "layer", "layer", "layer", "digest", "status"]);
  expect(events[2]).toEqual({ kind: "layer", id: "bbbbbbbbbbbb", phase: "downloading", current: 400, total: 1000 });
});

test("a digest is asked for as the tag; Docker Hub's full name; no login, no header", async () => {
  await pull(`team/uptodate@${DIGEST}`);
  expect(seen.at(-1)?.url).toBe(
    `POST /images/create?fromImage=docker.io%2Fteam%2Fuptodate&tag=${encodeURIComponent(DIGEST)}`,
  );
  expect(seen.at(-1)?.headers["x-registry-auth"]).toBeUndefined();
});

test("already there: up to date", async () => {
  expect(await pull("reg:5000/team/uptodate:1")).toEqual({
    kind: "pulled",
    digest: DIGEST,
    imageId: undefined,
    upToDate: true,
  });
});

test.each([
  ["reg:5000/team/missing:1.2", "manifest-unknown"],
  ["reg:5000/team/unreachable:1", "unreachable"],
  ["reg:5000/team/nospace:1", "disk-full"],
])("%s fails: %s, in the daemon's words", async (image, kind) => {
  const result = await pull(image);
  expect(result).toMatchObject({ kind: "failed", failure: { kind } });
});

test("a stream that breaks off is a failure, not a pull", async () => {
  expect(await pull("reg:5000/team/cut:1")).toMatchObject({
    kind: "failed",
    failure: { detail: expect.stringContaining("early") },
  });
});

test("past the timeout: the request is ended (dockerd cancels) and it fails with timeout", async () => {
  const result = await pull("reg:5000/team/slow:1", { timeoutMs: 100 });
  expect(result).toEqual({ kind: "failed", failure: { kind: "timeout", detail: "100 ms" } });
  await expect.poll(() => open.size).toBe(0);
});

test("an abort ends it: cancelled", async () => {
  const controller = new AbortController();
  const pending = pull("reg:5000/team/slow:1", { signal: controller.signal });
  await expect.poll(() => open.size).toBe(1);
  controller.abort();
  expect(await pending).toEqual({ kind: "cancelled" });
  await expect.poll(() => open.size).toBe(0);
});

test("no daemon: a failure naming the socket", async () => {
  const result = await pullWithDockerApi(parseImageReference("a/b"), {
    socketPath: `${dir}/none.sock`,
    auth: { kind: "anonymous" },
  });
  expect(result).toMatchObject({ kind: "failed", failure: { detail: expect.stringContaining(`${dir}/none.sock`) } });
});

test("inspect: the image and its repo digests; none; a daemon error", async () => {
  const api = createDockerApi(socketPath);
  expect(await inspectImageWithDockerApi(api, "reg:5000/team/app:1.2")).toEqual({
    id: "sha256:abc",
    repoDigests: [`reg:5000/team/app@${DIGEST}`],
  });
  expect(await inspectImageWithDockerApi(api, "nope")).toBeUndefined();
  await expect(inspectImageWithDockerApi(api, "broken")).rejects.toThrow("cannot inspect image `broken`");
});
