// The Engine API client against a real HTTP server on a unix socket, answering as dockerd does.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { ContainerRuntime } from "../container/index.js";
import { apiMessage, createDockerApi, dockerSocketPath, withDebugLog } from "./docker-api.js";

let dir: string;
let socket: string;
let server: Server;
/** Container names the fake daemon has; DELETE removes, GET inspects. */
const containers = new Set<string>();
const requests: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "docker-api-"));
  socket = path.join(dir, "docker.sock");
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const name = decodeURIComponent(/^\/containers\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "");
    const known = containers.has(name);
    res.setHeader("Content-Type", "application/json");
    if (req.method === "DELETE" && name === "busy") {
      res.writeHead(409).end(JSON.stringify({ message: `removal of container ${name} is already in progress` }));
      containers.delete(name);
    } else if (req.method === "DELETE") {
      containers.delete(name);
      res.writeHead(known ? 204 : 404).end(known ? "" : JSON.stringify({ message: `No such container: ${name}` }));
    } else if (req.method === "GET" && known) res.writeHead(200).end(JSON.stringify({ Name: `/${name}` }));
    else res.writeHead(404).end(JSON.stringify({ message: `No such container: ${name}` }));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

test.each([
  [{}, "/var/run/docker.sock"],
  [{ DOCKER_HOST: "unix:///run/user/1000/docker.sock" }, "/run/user/1000/docker.sock"],
  [{ DOCKER_HOST: "tcp://10.0.0.1:2376" }, undefined],
  [{ DOCKER_CONTEXT: "remote" }, undefined],
])("dockerSocketPath(%j) = %s", (env, expected) => {
  const noConfig = (): string => {
    throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
  };
  expect(dockerSocketPath(env, noConfig)).toBe(expected);
});

test.each([
  ['{"auths":{},"currentContext":"rootless"}', undefined],
  ['{"currentContext":"default"}', "/var/run/docker.sock"],
  ['{"auths":{}}', "/var/run/docker.sock"],
  ["not json", "/var/run/docker.sock"],
])("a CLI config of %s: `docker context use` picks the daemon, so the CLI is asked (socket %s)", (config, expected) => {
  const read = (file: string) => {
    expect(file).toBe("/home/alice/.docker/config.json");
    return config;
  };
  expect(dockerSocketPath({ HOME: "/home/alice" }, read)).toBe(expected);
  // DOCKER_HOST wins over the config, as with the CLI.
  expect(dockerSocketPath({ HOME: "/home/alice", DOCKER_HOST: "unix:///s.sock" }, read)).toBe("/s.sock");
});

test("DOCKER_CONFIG moves the CLI's config; no config file is the default socket", () => {
  const seen: string[] = [];
  const none = (file: string): string => {
    seen.push(file);
    throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
  };
  expect(dockerSocketPath({ DOCKER_CONFIG: "/etc/dk", HOME: "/h" }, none)).toBe("/var/run/docker.sock");
  expect(seen).toEqual(["/etc/dk/config.json"]);
});

test("--debug says each request, with its JSON body", async () => {
  const said: string[] = [];
  const api = withDebugLog(createDockerApi(socket), { debug: (m) => said.push(m) });
  await api.call("POST", "/containers/x/exec", { body: { Cmd: ["id"] } });
  await api.upgrade("/exec/none/start", { Detach: false });
  expect(said).toEqual([
    `> POST /containers/x/exec {"Cmd":["id"]} (Engine API on ${socket})`,
    `> POST /exec/none/start {"Detach":false} (Engine API on ${socket})`,
  ]);
});

test("--debug shows an exec's environment by names: no --envlist value in the Slurm output file", async () => {
  const said: string[] = [];
  const api = withDebugLog(createDockerApi(socket), { debug: (m) => said.push(m) });
  await api.call("POST", "/containers/x/exec", { body: { Env: ["HF_TOKEN=hf_s3cret", "np=2", "UNSET"], Cmd: ["id"] } });
  expect(said).toEqual([
    `> POST /containers/x/exec {"Env":["HF_TOKEN","np","UNSET"],"Cmd":["id"]} (Engine API on ${socket})`,
  ]);
});

test("an upgrade the daemon refuses (no such exec) is its plain answer", async () => {
  const r = await createDockerApi(socket).upgrade("/exec/none/start", { Detach: false });
  expect(r).toMatchObject({ kind: "answered", response: { status: 404 } });
});

test("apiMessage reads the daemon's message, else the body", () => {
  expect(apiMessage({ status: 500, body: '{"message":"boom"}' })).toBe("boom");
  expect(apiMessage({ status: 502, body: "bad gateway\n" })).toBe("bad gateway");
  expect(apiMessage({ status: 503, body: "" })).toBe("HTTP 503");
});

test("remove() deletes through the API and confirms; no CLI is run", async () => {
  containers.add("srun-docker-alice-1.0-node1");
  containers.add("busy");
  requests.length = 0;
  const cli: string[] = [];
  const runtime = new ContainerRuntime(
    "docker",
    "node1",
    async (file, args) => {
      cli.push(`${file} ${args.join(" ")}`);
      return { exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, aborted: false };
    },
    undefined,
    () => 1001,
    createDockerApi(socket),
  );
  await runtime.remove(["srun-docker-alice-1.0-node1", "busy", "never-there"]);
  expect(containers.size).toBe(0);
  expect(cli).toEqual([]);
  expect(requests).toContain("DELETE /containers/srun-docker-alice-1.0-node1?force=1");
  expect(requests).toContain("GET /containers/busy/json");
});

test("a daemon that is not there: the error names the node and the container", async () => {
  const runtime = new ContainerRuntime(
    "docker",
    "node7",
    undefined,
    undefined,
    () => 1001,
    createDockerApi(path.join(dir, "absent.sock")),
  );
  await expect(runtime.remove(["c1"], { deadlineMs: 200 })).rejects.toThrow(
    /could not remove container on node7: c1 \(.*ENOENT/,
  );
});
