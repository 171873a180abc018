import { expect, test } from "vitest";
import { parseAgentConfig } from "./agent-config.js";

const valid = {
  v: 3,
  jobKey: "12.0",
  user: "alice",
  node: "node2",
  secret: "5a".repeat(32),
  nodes: [
    { name: "node1", address: "10.0.0.1" },
    { name: "node2", address: "10.0.0.2" },
  ],
  ports: [20_003, 27_415],
  portFile: "/run/srun-docker/remote.port",
  env: { PATH: "/usr/bin:/bin" },
};

test("a valid config, with this node's entry", () => {
  expect(parseAgentConfig("a.json", JSON.stringify(valid))).toEqual({
    ok: true,
    config: valid,
    self: { name: "node2", address: "10.0.0.2" },
  });
});

test("env defaults to empty (a client needs none)", () => {
  const { env: _env, ...clientOnly } = valid;
  const result = parseAgentConfig("a.json", JSON.stringify(clientOnly));
  expect(result.ok && result.config.env).toEqual({});
});

test.each([
  ["not JSON", "{", "a.json is not JSON"],
  ["another version", JSON.stringify({ ...valid, v: 1 }), "a.json is not a valid agent config"],
  [
    "a secret's file instead of a secret",
    JSON.stringify({ ...valid, secret: "/home/a/.srun-docker/secret" }),
    "secret",
  ],
  ["a short secret", JSON.stringify({ ...valid, secret: "5a".repeat(16) }), "secret"],
  ["a bad port", JSON.stringify({ ...valid, ports: [20_003, 0] }), "ports"],
  ["no port", JSON.stringify({ ...valid, ports: [] }), "ports"],
  [
    "a port per node, as version 2 had",
    JSON.stringify({ ...valid, nodes: [{ name: "n", address: "a", port: 1 }] }),
    "nodes",
  ],
  ["an unknown field", JSON.stringify({ ...valid, extra: 1 }), "extra"],
  ["a node that is not in nodes", JSON.stringify({ ...valid, node: "node9" }), "node `node9` is not in its nodes"],
])("%s is an error naming the file", (_name, text, message) => {
  const result = parseAgentConfig("a.json", text);
  expect(result.ok).toBe(false);
  expect(result.ok ? "" : result.error).toContain(message);
});
