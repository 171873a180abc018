// A fake dockerd for tests: a real HTTP server on a unix socket that speaks the part of the
// Engine API srun-docker uses, on the wire as dockerd does: JSON answers, `101 UPGRADED` and a
// hijacked connection for an exec's start, multiplexed frames, the client's half-close as the
// end of stdin. What each exec "runs" is a function the test gives.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { encodeFrame, type StreamName } from "../../core/engine/index.js";

/** What an exec does: writes frames, reads stdin, returns its exit code (or never, for a hang). */
export type FakeProcess = (io: {
  write(stream: StreamName, data: string | Buffer): void;
  stdin: AsyncIterable<Buffer>;
  /** Resolves when the client half-closed its side (the CLI's CloseWrite). */
  stdinClosed: Promise<void>;
  socket: Socket;
}) => Promise<number>;

export interface FakeExec {
  readonly id: string;
  readonly container: string;
  readonly config: Record<string, unknown>;
  running: boolean;
  exitCode: number | null;
  /** The start request's headers. */
  startHeaders?: IncomingMessage["headers"];
  startBody?: string;
}

export interface FakeContainer {
  Names: string[];
  Labels: Record<string, string>;
  logs?: Buffer;
  /** How the logs are labelled: dockerd 20.10 (API 1.41) says raw-stream either way. */
  logsType?: string;
}

export interface FakeDaemon {
  readonly socket: string;
  readonly requests: string[];
  readonly images: Map<string, { Id: string; Config: { Env: string[] } }>;
  readonly containers: Map<string, FakeContainer>;
  readonly execs: Map<string, FakeExec>;
  /** What the next exec runs (default: exits 0 at once). */
  process: FakeProcess;
  /** How many exec inspections still say "running" after the stream ended. */
  runningAfterEnd: number;
  close(): Promise<void>;
}

export async function startFakeDaemon(): Promise<FakeDaemon> {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-dockerd-"));
  const daemon: FakeDaemon = {
    socket: path.join(dir, "docker.sock"),
    requests: [],
    images: new Map(),
    containers: new Map(),
    execs: new Map(),
    process: async () => 0,
    runningAfterEnd: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const server: Server = createServer(async (req, res) => {
    daemon.requests.push(`${req.method} ${req.url}`);
    const body = await readBody(req);
    const answer = route(daemon, req.method ?? "", new URL(req.url ?? "/", "http://docker"), body);
    res.writeHead(answer.status, { "Content-Type": answer.type ?? "application/json" });
    res.end(answer.body);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    daemon.requests.push(`${req.method} ${req.url} (upgrade)`);
    void hijack(daemon, req, socket, head);
  });
  await new Promise<void>((resolve) => server.listen(daemon.socket, resolve));
  return daemon;
}

interface Answer {
  status: number;
  body: string | Buffer;
  type?: string;
}

const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value) });
const missing = (what: string): Answer => json(404, { message: `No such ${what}` });

function route(daemon: FakeDaemon, method: string, url: URL, body: string): Answer {
  const parts = url.pathname.split("/").map(decodeURIComponent);
  return (
    routeList(daemon, method, url, parts) ??
    routeContainer(daemon, method, parts, body) ??
    routeExec(daemon, method, parts, body) ??
    json(404, { message: "page not found" })
  );
}

/** `GET /images/NAME/json`, `GET /containers/json?filters=`. */
function routeList(daemon: FakeDaemon, method: string, url: URL, parts: string[]): Answer | undefined {
  if (method === "GET" && parts[1] === "images" && parts.at(-1) === "json") {
    const image = daemon.images.get(parts.slice(2, -1).join("/"));
    return image === undefined ? missing(`image: ${parts.slice(2, -1).join("/")}`) : json(200, image);
  }
  if (method === "GET" && url.pathname === "/containers/json") {
    const wanted = (JSON.parse(url.searchParams.get("filters") ?? "{}") as { label?: string[] }).label ?? [];
    const rows = [...daemon.containers.values()].filter((c) =>
      wanted.every((pair) => `${pair.split("=")[0]}=${c.Labels[pair.split("=")[0] ?? ""]}` === pair),
    );
    return json(200, rows);
  }
  return undefined;
}

/** `GET /containers/ID/logs`, `POST /containers/ID/exec`. */
function routeContainer(daemon: FakeDaemon, method: string, parts: string[], body: string): Answer | undefined {
  const container = parts[1] === "containers" ? daemon.containers.get(parts[2] ?? "") : undefined;
  if (method === "GET" && parts[3] === "logs") {
    if (container === undefined) return missing(`container: ${parts[2]}`);
    const type = container.logsType ?? "application/vnd.docker.raw-stream";
    return { status: 200, body: container.logs ?? Buffer.alloc(0), type };
  }
  if (method === "POST" && parts[3] === "exec") {
    if (container === undefined) return missing(`container: ${parts[2]}`);
    const id = `exec${daemon.execs.size + 1}`;
    const config = JSON.parse(body) as Record<string, unknown>;
    daemon.execs.set(id, { id, container: parts[2] ?? "", config, running: false, exitCode: null });
    return json(201, { Id: id });
  }
  return undefined;
}

/** `POST /exec/ID/start`, `GET /exec/ID/json`. */
function routeExec(daemon: FakeDaemon, method: string, parts: string[], body: string): Answer | undefined {
  const exec = parts[1] === "exec" ? daemon.execs.get(parts[2] ?? "") : undefined;
  if (method === "POST" && parts[3] === "start") {
    if (exec === undefined) return missing(`exec instance: ${parts[2]}`);
    exec.startBody = body;
    exec.running = true;
    void daemon.process(detachedIo()).then((code) => finish(exec, code));
    return { status: 200, body: "" };
  }
  if (method === "GET" && parts[3] === "json") {
    if (exec === undefined) return missing(`exec instance: ${parts[2]}`);
    if (!exec.running) return json(200, { ID: exec.id, Running: false, ExitCode: exec.exitCode });
    if (exec.exitCode !== null && daemon.runningAfterEnd-- <= 0) exec.running = false;
    return json(200, { ID: exec.id, Running: exec.running, ExitCode: exec.running ? null : exec.exitCode });
  }
  return undefined;
}

function finish(exec: FakeExec, code: number): void {
  exec.exitCode = code;
}

/** `POST /exec/{id}/start` with `Upgrade: tcp`: 101, then the process's frames on the raw connection. */
async function hijack(daemon: FakeDaemon, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  const exec = daemon.execs.get(decodeURIComponent(req.url?.split("/")[2] ?? ""));
  if (exec === undefined) {
    const body = JSON.stringify({ message: "No such exec instance" });
    socket.end(
      `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    return;
  }
  exec.startHeaders = req.headers;
  // The request's body (`{"Detach":false,...}`) comes first on the raw connection; stdin follows.
  const bodyLength = Number(req.headers["content-length"] ?? 0);
  let body = Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let wake = () => {};
  let closed = false;
  const stdinClosed = new Promise<void>((resolve) => socket.once("end", resolve));
  const take = (chunk: Buffer) => {
    const inBody = Math.min(bodyLength - body.length, chunk.length);
    body = Buffer.concat([body, chunk.subarray(0, inBody)]);
    exec.startBody = body.toString("utf8");
    if (chunk.length > inBody) chunks.push(chunk.subarray(inBody));
    wake();
  };
  if (head.length > 0) take(head);
  socket.on("data", take);
  void stdinClosed.then(() => {
    closed = true;
    wake();
  });
  socket.write(
    "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
  );
  async function* stdin(): AsyncIterable<Buffer> {
    for (;;) {
      const chunk = chunks.shift();
      if (chunk !== undefined) yield chunk;
      else if (closed) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  exec.running = true;
  const write = (stream: StreamName, data: string | Buffer) => socket.write(encodeFrame(stream, data));
  const code = await daemon.process({ write, stdin: stdin(), stdinClosed, socket });
  finish(exec, code);
  socket.end();
}

function detachedIo(): Parameters<FakeProcess>[0] {
  return {
    write: () => {},
    stdin: (async function* () {})(),
    stdinClosed: Promise.resolve(),
    socket: undefined as never,
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}
