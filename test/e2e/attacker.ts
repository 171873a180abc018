// Tools for test/e2e/security*.test.ts: another user's programs on the nodes (attacker/*.cjs),
// started as that user inside a node and ended through their stdin; the ports a user listens
// on in a node; a capture of a job's own traffic (tcpdump on the host side of a node's link),
// cut into what each client sent; and what a server answered, judged with the project's own
// parsers.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { FrameType } from "../../src/core/channel/index.js";
import { parseMasterMessage } from "../../src/core/rendezvous/index.js";
import { CLUSTER_SH, inNode, waitFor } from "./cluster.js";
import type { Workspace } from "./workspace.js";

const ATTACKER_DIR = path.join(import.meta.dirname, "attacker");

/** Copies the attacker's programs into the attacker's workspace (they run as that user). */
export function installAttackerPrograms(ws: Workspace): void {
  for (const name of ["probe.cjs", "squat.cjs", "flood.cjs", "forge.cjs"])
    ws.write(name, readFileSync(path.join(ATTACKER_DIR, name), "utf8"));
}

export interface NodeProgram {
  /** stdout so far. */
  output(): string;
  /** Resolves once a line of stdout matches, with the match; rejects when it exits first or at the deadline. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Ends it (its stdin closes) and resolves with its stdout and stderr. */
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** `su - user -c command` inside node K's namespaces, without waiting; ended by stop(). */
export function startInNode(k: number, user: string, command: string): NodeProgram {
  const child: ChildProcess = spawn("bash", [CLUSTER_SH, "exec", String(k), "su", "-", user, "-c", command], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin?.on("error", () => {});
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => {
      exited = true;
      resolve({ code, stdout, stderr });
    }),
  );
  return {
    output: () => stdout,
    line: (pattern, timeoutMs = 30_000) =>
      waitFor(
        `node${k}: ${command} to print ${pattern}`,
        async () => {
          const match = pattern.exec(stdout);
          if (match === null && exited) throw new Error(`node${k}: ${command} exited: ${stdout}${stderr}`);
          return match ?? undefined;
        },
        timeoutMs,
        50,
      ),
    stop: () => {
      child.stdin?.end();
      return done;
    },
  };
}

export interface Listener {
  node: number;
  /** As ss prints it: `*`, `0.0.0.0`, `[::]`, `127.0.0.1`, ... */
  address: string;
  port: number;
  process: string;
}

/** The TCP ports `uid` listens on inside node K (ss, as root, run in the node's namespace). */
export async function listeningPorts(k: number, uid: number): Promise<Listener[]> {
  const r = await inNode(k, ["ss", "-Hltnpe"]);
  if (r.code !== 0) throw new Error(`node${k}: ss failed: ${r.stderr}`);
  const found: Listener[] = [];
  for (const line of r.stdout.split("\n")) {
    if (!new RegExp(`\\suid:${uid}\\s`).test(line)) continue;
    const local = line.trim().split(/\s+/)[3] ?? "";
    const at = local.lastIndexOf(":");
    found.push({
      node: k,
      address: local.slice(0, at),
      port: Number(local.slice(at + 1)),
      process: /users:\(\("([^"]+)"/.exec(line)?.[1] ?? "?",
    });
  }
  return found;
}

/** One TCP flow's bytes from its client, in order. */
export interface ClientStream {
  client: string;
  server: string;
  bytes: Buffer;
}

/**
 * What each client sent to `serverPort`, from a pcap file of an Ethernet link (IPv4): segments
 * put in place by their sequence numbers (from the SYN when captured), retransmissions once.
 */
export function clientStreams(pcapFile: string, serverPort: number): ClientStream[] {
  const data = readFileSync(pcapFile);
  const magic = data.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && data.readUInt32BE(0) !== 0xa1b2c3d4 && data.readUInt32BE(0) !== 0xa1b23c4d)
    throw new Error(`${pcapFile}: not a pcap file`);
  const u32 = (at: number) => (le ? data.readUInt32LE(at) : data.readUInt32BE(at));
  if (u32(20) !== 1) throw new Error(`${pcapFile}: link type ${u32(20)}, not Ethernet`);
  const flows = new Map<string, { client: string; server: string; isn?: number; pieces: Map<number, Buffer> }>();
  for (let at = 24; at + 16 <= data.length; ) {
    const captured = u32(at + 8);
    const frame = data.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    if (frame.length < 14 + 20 || frame.readUInt16BE(12) !== 0x0800) continue;
    const ip = frame.subarray(14);
    const ihl = (ip.readUInt8(0) & 0x0f) * 4;
    if (ip.readUInt8(9) !== 6) continue;
    const tcp = ip.subarray(ihl, ip.readUInt16BE(2));
    const dport = tcp.readUInt16BE(2);
    if (dport !== serverPort) continue;
    const src = `${[...ip.subarray(12, 16)].join(".")}:${tcp.readUInt16BE(0)}`;
    const dst = `${[...ip.subarray(16, 20)].join(".")}:${dport}`;
    const key = `${src}>${dst}`;
    const flow = flows.get(key) ?? { client: src, server: dst, pieces: new Map<number, Buffer>() };
    flows.set(key, flow);
    const seq = tcp.readUInt32BE(4);
    if ((tcp.readUInt8(13) & 0x02) !== 0) flow.isn = seq;
    const payload = tcp.subarray((tcp.readUInt8(12) >> 4) * 4);
    if (payload.length > 0) flow.pieces.set(seq, Buffer.from(payload));
  }
  return [...flows.values()].map((flow) => {
    const seqs = [...flow.pieces.keys()];
    const base = flow.isn === undefined ? Math.min(...seqs) : (flow.isn + 1) >>> 0;
    const ordered = seqs.map((seq) => [(seq - base) >>> 0, flow.pieces.get(seq) as Buffer] as const);
    ordered.sort((a, b) => a[0] - b[0]);
    const out: Buffer[] = [];
    let next = 0;
    for (const [offset, piece] of ordered) {
      if (offset + piece.length <= next) continue;
      out.push(piece.subarray(Math.max(0, next - offset)));
      next = offset + piece.length;
    }
    return { client: flow.client, server: flow.server, bytes: Buffer.concat(out) };
  });
}

/** A stream's frames of the channel (type byte, u32 length, payload), the payload as text. */
export function framesOf(bytes: Buffer): { type: number; json: string }[] {
  const frames: { type: number; json: string }[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt32BE(at + 1)) {
    const end = at + 5 + bytes.readUInt32BE(at + 1);
    frames.push({ type: bytes.readUInt8(at), json: bytes.subarray(at + 5, end).toString("utf8") });
  }
  return frames;
}

/** The first message of a client's stream: a line (an older rendezvous) or a frame. */
export function firstMessage(bytes: Buffer): Buffer {
  if (bytes[0] === 0x7b) return bytes.subarray(0, bytes.indexOf(10) + 1);
  return bytes.subarray(0, 5 + bytes.readUInt32BE(1));
}

const FRAME_NAMES = new Map<number, string>(Object.entries(FrameType).map(([name, type]) => [type, name]));

/**
 * What a server sent on one connection, message by message, and what of it a server may say to
 * a peer that has not authenticated: its challenge, then at most a reject. Anything else (a
 * welcome, output, an exit, any message of a session) is `unexpected`.
 */
export function judgeAnswer(received: Buffer): { said: string[]; unexpected: string[] } {
  const said: string[] = [];
  if (received.length === 0) return { said, unexpected: [] };
  if (received[0] === 0x7b) {
    for (const line of received.toString("utf8").split("\n")) {
      if (line === "") continue;
      said.push(parseMasterMessage(line)?.type ?? `unparsed line ${JSON.stringify(line.slice(0, 80))}`);
    }
  } else {
    for (let at = 0; at < received.length; ) {
      if (received.length - at < 5) {
        said.push(`${received.length - at} stray bytes`);
        break;
      }
      said.push(FRAME_NAMES.get(received.readUInt8(at)) ?? `frame type ${received.readUInt8(at)}`);
      at += 5 + received.readUInt32BE(at + 1);
    }
  }
  const unexpected = said.filter((what, index) => !(index === 0 ? what === "challenge" : what === "reject"));
  return { said, unexpected };
}

/** One summary line of the connections a server refused (src/core/channel/refusal-tally.ts). */
export interface RefusalSummary {
  line: string;
  total: number;
  kinds: Record<string, number>;
  busiest: string;
  busiestCount: number;
}

/** The refusal summaries among a server's log lines, in order. */
export function refusalSummaries(text: string): RefusalSummary[] {
  const pattern =
    /refused (\d+) connections? that did not authenticate in [\d.]+ s \(([^)]*)\); most from (\S+) \((\d+)\)/;
  return text.split("\n").flatMap((line) => {
    const m = pattern.exec(line);
    if (m === null) return [];
    const kinds = Object.fromEntries(
      (m[2] ?? "").split(", ").map((part) => {
        const at = part.indexOf(" ");
        return [part.slice(at + 1), Number(part.slice(0, at))];
      }),
    );
    return [{ line, total: Number(m[1]), kinds, busiest: m[3] ?? "", busiestCount: Number(m[4]) }];
  });
}
