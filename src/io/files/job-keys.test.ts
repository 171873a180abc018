// A job step's keys: derived alike on every node, different for every step, and what a
// container holds of them opens no other step's channel.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { runCleanups, runClient, startServer } from "../agent/agent-harness.test-support.js";
import { createPortDraw, deriveJobSecret } from "../channel/index.js";
import { runCleanups as closeRendezvous, master, worker } from "../rendezvous/rendezvous-harness.test-support.js";
import { deriveJobKeys } from "./job-keys.js";

afterEach(runCleanups);
afterEach(closeRendezvous);

const userSecret = Buffer.alloc(32, 1);

describe("the job step's secret", () => {
  test("the same on every node, another for every step, job and user, never the user's secret", () => {
    const steps = ["100.0", "100.1", "101.0", "1000.0", "10.00"];
    const secrets = steps.map((step) => deriveJobSecret(userSecret, step).toString("hex"));
    expect(new Set(secrets).size).toBe(steps.length);
    expect(deriveJobSecret(userSecret, "100.0").toString("hex")).toBe(secrets[0]);
    expect(deriveJobSecret(Buffer.alloc(32, 2), "100.0").toString("hex")).not.toBe(secrets[0]);
    for (const secret of secrets) {
      expect(secret).toHaveLength(64);
      expect(secret).not.toBe(userSecret.toString("hex"));
    }
    // Pinned, as `printf 'job|100.0' | openssl dgst -sha256 -mac HMAC -macopt hexkey:0101...`
    // prints it: a change of derivation is a change of protocol (its version goes up with it).
    expect(secrets[0]).toBe(deriveJobKeys(userSecret, "100.0", "alice").secret.toString("hex"));
    expect(secrets[0]).toBe("0887ea60eec425bfda8eb94e7632232f7daa0b96e24adcf81aad00347b6b732c");
  });

  test("the ports are drawn from it, so the job's containers could draw the job's ports", () => {
    const secret = deriveJobSecret(userSecret, "100.0");
    const draw = createPortDraw(secret, "100.0")("remote|0");
    expect(Number.isInteger(draw) && draw >= 0 && draw < 2 ** 32).toBe(true);
    expect(draw).not.toBe(createPortDraw(deriveJobSecret(userSecret, "100.1"), "100.1")("remote|0"));
  });
});

describe("the agent's handshake with the job's secret", () => {
  const server = (step: string) =>
    startServer({ jobKey: step, secret: deriveJobKeys(userSecret, step, "alice").secret });

  test("a client that derived the secret itself gets in", async () => {
    const { options } = await server("100.0");
    const secret = deriveJobKeys(userSecret, "100.0", "alice").secret;
    const run = await runClient({ ...options, secret, jobKey: "100.0" }, ["node1", "echo in"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout.toString()).toBe("in\n");
  });

  test.each([
    ["the user's own secret (an old srun-docker)", userSecret, "100.1"],
    ["an earlier step's secret, claiming this step", deriveJobSecret(userSecret, "100.0"), "100.1"],
    ["an earlier step's secret, for that step", deriveJobSecret(userSecret, "100.0"), "100.0"],
    ["another job's secret", deriveJobSecret(userSecret, "101.1"), "100.1"],
  ])("another step's agent refuses %s", async (_name, secret, jobKey) => {
    const { server: agent, options, spawns, logs } = await server("100.1");
    const run = await runClient({ ...options, secret, jobKey }, ["node1", "touch /tmp/never"]);
    expect(run.code).toBe(255);
    expect(run.stderr).toMatch(/authentication failed/);
    expect(spawns()).toBe(0);
    // Refusals are counted and said in one summary line (flushed when the server closes).
    await agent.close();
    expect(logs).toEqual([expect.stringContaining("refused 1 connection that did not authenticate in ")]);
  });
});

describe("the rendezvous with the job's secret", () => {
  test("a worker that derived it joins; one holding another step's is refused", async () => {
    const secret = (step: string) => deriveJobSecret(userSecret, step);
    const m = await master({ jobKey: "100.1", secret: secret("100.1"), expectedNodes: ["n1", "n2"] });
    await worker(m.port, "n1", { jobKey: "100.1", secret: secret("100.1") });
    const other = worker(m.port, "n2", { jobKey: "100.1", secret: secret("100.0"), deadlineMs: 300 });
    await expect(other).rejects.toThrow(/could not join the rendezvous/);
    const mine = worker(m.port, "n2", { jobKey: "100.1", secret: userSecret, deadlineMs: 300 });
    await expect(mine).rejects.toThrow(/could not join the rendezvous/);
  });
});

describe("the job's ssh keys (--remote=sshd)", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test("OpenSSH reads the private keys and finds the public keys the plan gives", async () => {
    dir = await mkdtemp(join(tmpdir(), "job-keys-"));
    const keys = deriveJobKeys(userSecret, "100.0", "alice");
    for (const [name, pair] of [
      ["host", keys.sshHost],
      ["client", keys.sshClient],
    ] as const) {
      const file = join(dir, name);
      await writeFile(file, pair.privateKey, { mode: 0o600 });
      const { stdout } = await promisify(execFile)("ssh-keygen", ["-y", "-f", file]);
      const [type, key] = pair.publicKey.split(" ");
      expect(stdout.trim().split(" ").slice(0, 2)).toEqual([type, key]);
    }
    expect(keys.sshHost.publicKey).toMatch(/^ssh-ed25519 \S+ srun-docker host alice 100\.0$/);
    expect(keys.sshClient.publicKey).not.toBe(keys.sshHost.publicKey);
  });

  test("the same on every node, another for every step", () => {
    const a = deriveJobKeys(userSecret, "100.0", "alice");
    expect(deriveJobKeys(userSecret, "100.0", "alice")).toEqual(a);
    const b = deriveJobKeys(userSecret, "100.1", "alice");
    expect(b.sshHost.publicKey.split(" ")[1]).not.toBe(a.sshHost.publicKey.split(" ")[1]);
    expect(b.sshClient.publicKey.split(" ")[1]).not.toBe(a.sshClient.publicKey.split(" ")[1]);
  });
});
