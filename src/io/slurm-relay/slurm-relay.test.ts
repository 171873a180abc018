// The Slurm relay end to end on one machine: the container's client against the host's relay
// on a real unix socket, running stand-ins for Slurm's programs on the relay's PATH.
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { PassThrough, Readable } from "node:stream";
import { afterEach, describe, expect, test } from "vitest";
import { createFrameDecoder, encodeFrame, FrameType, HandshakeFrame, transcript } from "../../core/channel/index.js";
import {
  encodeSlurmRequest,
  planSlurmRequest,
  SLURM_COMMAND_FRAME,
  SLURM_RELAY_PROTOCOL_VERSION,
  type SlurmCommand,
} from "../../core/slurm-relay/index.js";
import { channelKey } from "../channel/index.js";
import { EXIT_RELAY_FAILURE, runSlurmCommand } from "./slurm-relay-client.js";
import { closeHarnesses, jobKey, node, type RelayHarness, startHarness } from "./slurm-relay-harness.test-support.js";

afterEach(closeHarnesses);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  harness: RelayHarness,
  program: SlurmCommand,
  args: string[],
  options: { input?: string; env?: Record<string, string>; cwd?: string; signals?: EventEmitter; secret?: Buffer } = {},
): Promise<Ran> {
  const plan = planSlurmRequest(program, args, options.cwd ?? "/", options.env ?? {});
  if (plan.kind === "refuse") throw new Error(plan.message);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on("data", (c: Buffer) => chunks.stdout.push(c));
  stderr.on("data", (c: Buffer) => chunks.stderr.push(c));
  const code = await runSlurmCommand({
    socketPath: harness.relay.socketPath,
    secret: options.secret ?? harness.secret,
    jobKey,
    node,
    request: plan.request,
    readsStdin: plan.readsStdin,
    streams: { stdin: Readable.from([Buffer.from(options.input ?? "")]), stdout, stderr },
    signals: options.signals ?? new EventEmitter(),
  });
  return { code, stdout: Buffer.concat(chunks.stdout).toString(), stderr: Buffer.concat(chunks.stderr).toString() };
}

describe("a command through the relay", () => {
  test("argv arrives as an array: quotes, `;` and $( ) are words, never a shell's", async () => {
    const h = await startHarness();
    const hostile = ["show", "a b", `; touch ${h.dir}/marker`, `$(touch ${h.dir}/marker)`, "`id`"];
    const r = await run(h, "scontrol", hostile, { cwd: h.dir, env: { SBATCH_ACCOUNT: "acct" } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")).toEqual([...hostile, `cwd=${h.dir}`, "account=acct", ""]);
    expect(existsSync(h.marker)).toBe(false);
    expect(h.runs()).toHaveLength(1);
  });

  test("the exit code, and a variable that would choose code, stays the host's", async () => {
    const h = await startHarness();
    const r = await run(h, "squeue", [], { env: { LD_PRELOAD: "/tmp/x.so", SLURM_CONF: "/tmp/slurm.conf" } });
    expect(r).toEqual({ code: 3, stdout: "preload= conf=\n", stderr: "" });
  });

  test("a command killed by a signal exits 128+n", async () => {
    const h = await startHarness();
    expect((await run(h, "sacct", [])).code).toBe(143);
  });

  test("stdin reaches a command that reads it (sbatch), 3 MB intact", async () => {
    const h = await startHarness();
    const input = "x".repeat(3 * 1024 * 1024);
    const r = await run(h, "sbatch", [], { input });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(input);
  });

  test("a directory the host lacks runs the command in the relay's own", async () => {
    const h = await startHarness();
    const r = await run(h, "scontrol", [], { cwd: "/no/such/dir" });
    expect(r.stdout).toContain(`cwd=${h.dir}\n`);
  });

  test("a signal to the client reaches the host's command", async () => {
    const h = await startHarness();
    const signals = new EventEmitter();
    const ran = run(h, "scancel", [], { signals });
    while (!h.runs().some((line) => line.startsWith("scancel"))) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    signals.emit("SIGUSR1");
    expect(await ran).toMatchObject({ code: 42, stdout: "waiting\ngot-usr1\n" });
  });

  test("srun inside the job's step gets --overlap --mem=0; one that says how to share does not", async () => {
    const h = await startHarness({ SLURM_STEP_ID: "0" });
    expect((await run(h, "srun", ["-N1", "hostname"])).stdout).toBe("--overlap\n--mem=0\n-N1\nhostname\n");
    expect((await run(h, "srun", ["--exclusive", "hostname"])).stdout).toBe("--exclusive\nhostname\n");
  });

  test("a client with another job step's secret runs nothing", async () => {
    const h = await startHarness();
    const r = await run(h, "scontrol", ["ping"], { secret: Buffer.alloc(32, 7) });
    expect(r.code).toBe(EXIT_RELAY_FAILURE);
    expect(r.stderr).toMatch(
      /^srun-docker: scontrol: the node's Slurm relay refused this container: authentication failed/,
    );
    expect(h.runs()).toEqual([]);
  });
});

/** An honest handshake by hand, then `after` as the command: what the relay said, once it closed. */
function rawCommand(h: RelayHarness, after: Buffer): Promise<number[]> {
  return new Promise((resolve) => {
    const socket = connect({ path: h.relay.socketPath });
    const heard: number[] = [];
    const decoder = createFrameDecoder(() => 1024 * 1024);
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let step = decoder.next(); step?.kind === "frame"; step = decoder.next()) {
        heard.push(step.frame.type);
        if (step.frame.type !== HandshakeFrame.challenge) continue;
        const { nonce } = JSON.parse(step.frame.payload.toString()) as { nonce: string };
        const nonces = { server: nonce, client: "c".repeat(32) };
        const binding = { protocol: "slurm", version: SLURM_RELAY_PROTOCOL_VERSION, jobKey, port: 0 } as const;
        const mac = channelKey(h.secret).sign(transcript("client", binding, node, nonces));
        const hello = Buffer.from(JSON.stringify({ node, nonce: nonces.client, mac }));
        socket.write(Buffer.concat([encodeFrame(HandshakeFrame.hello, hello), after]));
      }
    });
    socket.on("close", () => resolve(heard));
  });
}

const command = (value: unknown) => encodeFrame(SLURM_COMMAND_FRAME, Buffer.from(JSON.stringify(value)));

describe("an authenticated client that asks for something else runs nothing", () => {
  test.each<[string, Buffer]>([
    ["a path as the program", command({ program: "/bin/sh", args: ["-c", "touch marker"], cwd: "/", env: {} })],
    ["../../bin/sh", command({ program: "../../bin/sh", args: [], cwd: "/", env: {} })],
    ["a program not on the list", command({ program: "sh", args: ["-c", "touch marker"], cwd: "/", env: {} })],
    ["a shell string instead of argv", command({ program: "scontrol", args: "ping; touch marker", cwd: "/", env: {} })],
    ["a field of its own", command({ program: "scontrol", args: [], cwd: "/", env: {}, shell: true })],
    ["a relative directory", command({ program: "scontrol", args: [], cwd: "..", env: {} })],
    [
      "a command of more than 256 KiB",
      command({ program: "scontrol", args: ["x".repeat(1024 * 1024)], cwd: "/", env: {} }),
    ],
    ["stdin before any command", encodeFrame(FrameType.stdin, Buffer.from("touch marker\n"))],
    ["no command at all (the handshake's timeout ends it)", Buffer.alloc(0)],
  ])("%s: the connection ends, nothing spawned", async (_name, after) => {
    const h = await startHarness();
    const heard = await rawCommand(h, after);
    expect(heard).toEqual([HandshakeFrame.challenge, HandshakeFrame.welcome]);
    expect(h.runs()).toEqual([]);
    expect(existsSync(h.marker)).toBe(false);
  });

  test("the honest command, by hand, does run (so the rows above fail for their flaw)", async () => {
    const h = await startHarness();
    const honest = encodeFrame(
      SLURM_COMMAND_FRAME,
      encodeSlurmRequest({ program: "scontrol", args: ["ping"], cwd: "/", env: {} }),
    );
    expect(await rawCommand(h, honest)).toContain(FrameType.exit);
    expect(h.runs()).toEqual(["scontrol ping"]);
  });
});
