import { describe, expect, test } from "vitest";
import { type AgentNode, findNode, parseSshArgv, planSshCall, type SshCall } from "./ssh-argv.js";

const call = (host: string, extra: Partial<SshCall> = {}): SshCall => ({
  host,
  pty: "auto",
  noStdin: false,
  unsupported: [],
  ...extra,
});

describe("parseSshArgv", () => {
  test.each<[string, string[], SshCall]>([
    ["host only: a login shell", ["node2"], call("node2")],
    ["command words joined by single spaces", ["node2", "echo", "a", "b"], call("node2", { command: "echo a b" })],
    ["one quoted word stays one word", ["node2", 'echo "a b"'], call("node2", { command: 'echo "a b"' })],
    ["an empty command is a login shell (as OpenSSH)", ["node2", ""], call("node2")],
    ["ignored flags", ["-x", "-q", "-a", "-2", "-4", "-6", "-A", "-C", "-v", "n", "c"], call("n", { command: "c" })],
    ["combined flags", ["-xqa", "n", "true"], call("n", { command: "true" })],
    ["-n: no stdin", ["-n", "n", "true"], call("n", { command: "true", noStdin: true })],
    ["-T: no pty", ["-T", "n"], call("n", { pty: "no" })],
    ["-t: a pty", ["-t", "n", "top"], call("n", { command: "top", pty: "yes" })],
    ["-tt: a pty", ["-tt", "n"], call("n", { pty: "yes" })],
    [
      "-o OPT and -oOPT",
      ["-o", "StrictHostKeyChecking=no", "-oBatchMode=yes", "n", "id"],
      call("n", { command: "id" }),
    ],
    [
      "-p PORT, -p22, -i, -F",
      ["-p", "22", "-p22", "-i", "k", "-F", "/dev/null", "n", "id"],
      call("n", { command: "id" }),
    ],
    ["flags ending in one with an argument", ["-xp", "2222", "n"], call("n")],
    ["-l USER", ["-l", "alice", "n", "id"], call("n", { login: "alice", command: "id" })],
    ["-lUSER (pdsh)", ["-2", "-a", "-x", "-lalice", "n", "id"], call("n", { login: "alice", command: "id" })],
    ["user@host", ["alice@n", "id"], call("n", { login: "alice", command: "id" })],
    ["the last @ splits", ["a@b@n"], call("n", { login: "a@b" })],
    ["ssh:// URI", ["ssh://alice@n:2222", "id"], call("n", { login: "alice", command: "id" })],
    ["options after the host (as OpenSSH)", ["n", "-x", "-p", "22", "hostname"], call("n", { command: "hostname" })],
    ["-- ends the options", ["--", "n", "-x"], call("n", { command: "-x" })],
    ["-- after the host", ["n", "--", "-v"], call("n", { command: "-v" })],
    ["words after the first command word stay command words", ["n", "ls", "-l"], call("n", { command: "ls -l" })],
    ["mpirun's orted line", ["-x", "n", "orted", "-mca", "ess", "env"], call("n", { command: "orted -mca ess env" })],
    ["-L is recorded as unsupported", ["-L", "8080:x:80", "n"], call("n", { unsupported: ["-L"] })],
    ["-N and -f are unsupported", ["-Nf", "n"], call("n", { unsupported: ["-N", "-f"] })],
  ])("%s", (_name, argv, expected) => {
    expect(parseSshArgv(argv)).toEqual({ kind: "call", call: expected });
  });

  test.each<[string[], string]>([
    [[], "no destination given"],
    [["-x"], "no destination given"],
    [["-p"], "option -p needs an argument"],
    [["-Z", "n"], "unknown option -Z"],
    [["@n"], "bad destination `@n`"],
    [["alice@"], "bad destination `alice@`"],
  ])("%j is a usage error", (argv, message) => {
    expect(parseSshArgv(argv)).toEqual({ kind: "usage", message });
  });
});

const nodes: AgentNode[] = [
  { name: "node1", address: "10.0.0.1" },
  { name: "node2", address: "10.0.0.2" },
];
const roster = { nodes, user: "alice" };
const node2 = nodes[1] as AgentNode;

describe("planSshCall", () => {
  test.each([
    [["node2", "hostname"], { kind: "agent", node: node2, command: "hostname", pty: "auto", noStdin: false }],
    [["-n", "alice@node2", "true"], { kind: "agent", node: node2, command: "true", pty: "auto", noStdin: true }],
    [["NODE2"], { kind: "agent", node: node2, pty: "auto", noStdin: false }],
    [["10.0.0.2", "id"], { kind: "agent", node: node2, command: "id", pty: "auto", noStdin: false }],
    [["git@github.com", "git-upload-pack 'x'"], { kind: "elsewhere", reason: "github.com is not a node of this job" }],
    [["-L", "1:x:2", "login1"], { kind: "elsewhere", reason: "login1 is not a node of this job" }],
    [["-Z", "node2"], { kind: "elsewhere", reason: "unknown option -Z" }],
    [["-V"], { kind: "elsewhere", reason: "no destination given" }],
    [["bob@node2", "id"], { kind: "refuse", message: "node2 is a node of this job and runs as alice, not as bob" }],
    [
      ["-l", "root", "node1"],
      { kind: "refuse", message: "node1 is a node of this job and runs as alice, not as root" },
    ],
    [
      ["-N", "-L", "1:x:2", "node2"],
      {
        kind: "refuse",
        message: "node2 is a node of this job, reached through srun-docker's agent, which does not support -N, -L",
      },
    ],
  ])("%j → %j", (argv, expected) => {
    expect(planSshCall(argv, roster)).toEqual(expected);
  });
});

describe("findNode", () => {
  test("by name first, case-insensitively, then by address", () => {
    const tricky = [...nodes, { name: "10.0.0.1", address: "10.9.9.9", port: 1 }];
    expect(findNode(tricky, "Node1")?.address).toBe("10.0.0.1");
    expect(findNode(tricky, "10.0.0.1")?.address).toBe("10.9.9.9");
    expect(findNode(tricky, "10.0.0.2")?.name).toBe("node2");
    expect(findNode(tricky, "node3")).toBeUndefined();
  });
});
