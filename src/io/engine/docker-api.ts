/**
 * Docker's Engine API on its unix socket, from srun-docker's own process (Node's `http`, no
 * client library). Teardown goes this way because a `docker rm -f` child is a process of the
 * Slurm step: the step's own SIGTERM kills it half-way, and the container stays. A request
 * made by this process survives every signal this process survives.
 */
import { readFileSync } from "node:fs";
import { type IncomingMessage, request } from "node:http";
import { homedir } from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import { describeRequestBody } from "../../core/engine/index.js";

export interface ApiResponse {
  status: number;
  body: string;
  /** The body's bytes, for answers that are not text (a multiplexed log stream). */
  bytes?: Buffer;
  contentType?: string | undefined;
}

export interface CallOptions {
  /** No answer by then rejects (default 5 s); 0 waits as long as it takes (a long poll). */
  timeoutMs?: number;
  /** Aborting rejects and closes the request. */
  signal?: AbortSignal;
  /** Sent as JSON. */
  body?: unknown;
  /** More request headers (a login in `X-Registry-Auth`); never said on `--debug`. */
  headers?: Readonly<Record<string, string>>;
}

/** What a request for a hijacked stream (`Upgrade: tcp`) got: the raw connection (paused until the caller reads it), or a plain answer (an error). */
export type UpgradeResult =
  | { kind: "upgraded"; socket: Duplex; head: Buffer; contentType: string | undefined }
  | { kind: "answered"; response: ApiResponse };

export interface DockerApi {
  /** The socket it talks to, for messages and `--debug`. */
  readonly socketPath: string;
  call(method: "GET" | "POST" | "DELETE", path: string, options?: CallOptions): Promise<ApiResponse>;
  /**
   * `POST path` with `Connection: Upgrade`: the daemon answers 101 and the connection becomes
   * the stream (exec start, attach). No timeout once upgraded: the stream lasts as long as it does.
   */
  upgrade(path: string, body: unknown, options?: Pick<CallOptions, "timeoutMs">): Promise<UpgradeResult>;
}

/**
 * The daemon's unix socket as the docker CLI would find it (`DOCKER_HOST=unix://...`, else
 * the default); undefined when the CLI talks to something else (tcp, ssh, a context chosen by
 * DOCKER_CONTEXT or by `docker context use`): then the CLI stays the way to reach it.
 */
export function dockerSocketPath(
  env: NodeJS.ProcessEnv,
  readConfig: (file: string) => string = (file) => readFileSync(file, "utf8"),
): string | undefined {
  const host = env.DOCKER_HOST;
  if (host !== undefined && host !== "") return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
  if (env.DOCKER_CONTEXT) return undefined;
  return currentContext(env, readConfig) === undefined ? "/var/run/docker.sock" : undefined;
}

/** `currentContext` of the CLI's config.json (`docker context use`); undefined for none or "default". */
function currentContext(env: NodeJS.ProcessEnv, readConfig: (file: string) => string): string | undefined {
  const dir = env.DOCKER_CONFIG || path.join(env.HOME || homedir(), ".docker");
  try {
    const context = (JSON.parse(readConfig(path.join(dir, "config.json"))) as { currentContext?: unknown })
      .currentContext;
    return typeof context === "string" && context !== "" && context !== "default" ? context : undefined;
  } catch {
    return undefined; // No config (the usual case), or one the CLI would not read either.
  }
}

export function createDockerApi(socketPath: string): DockerApi {
  const headersFor = (body: unknown): Record<string, string> =>
    body === undefined ? { Host: "docker" } : { Host: "docker", "Content-Type": "application/json" };
  const send = (body: unknown) => (body === undefined ? undefined : JSON.stringify(body));
  return {
    socketPath,
    call: (method, path, { timeoutMs = 5000, signal, body, headers } = {}) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            socketPath,
            path,
            method,
            headers: { ...headers, ...headersFor(body) },
            // A long poll (no timeout) gets its own socket: the global agent's keep-alive sockets
            // time out after 5 s idle (Node 19+), which cut a job-long wait every 5 s.
            ...(timeoutMs > 0 ? { timeout: timeoutMs } : { agent: false }),
            ...(signal ? { signal } : {}),
          },
          (res) => readResponse(res).then(resolve, reject),
        );
        req.on("timeout", () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end(send(body));
      }),
    upgrade: (path, body, { timeoutMs = 5000 } = {}) =>
      new Promise((resolve, reject) => {
        const req = request({
          socketPath,
          path,
          method: "POST",
          headers: { ...headersFor(body), Connection: "Upgrade", Upgrade: "tcp" },
          ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
        });
        req.on("upgrade", (res, socket, head) => {
          // The request's timeout must not end the stream: it lasts as long as the exec. Held
          // until the caller listens, so no byte is emitted to nobody; it resumes it.
          socket.setTimeout(0);
          socket.pause();
          resolve({ kind: "upgraded", socket, head, contentType: res.headers["content-type"] });
        });
        req.on("response", (res) =>
          readResponse(res).then((response) => resolve({ kind: "answered", response }), reject),
        );
        req.on("timeout", () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end(send(body));
      }),
  };
}

function readResponse(res: IncomingMessage): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("error", reject);
    res.on("end", () => {
      const bytes = Buffer.concat(chunks);
      resolve({
        status: res.statusCode ?? 0,
        body: bytes.toString("utf8"),
        bytes,
        contentType: res.headers["content-type"],
      });
    });
  });
}

/** The daemon's own words from an error body (`{"message": "..."}`), else the raw text. */
export function apiMessage(response: ApiResponse): string {
  try {
    const parsed = JSON.parse(response.body) as { message?: unknown };
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: say what came.
  }
  return response.body.trim() || `HTTP ${response.status}`;
}

/**
 * The same API, saying each request on `--debug` as the request line it sends and its JSON
 * body, an exec's environment by names only (describeRequestBody).
 */
export function withDebugLog(api: DockerApi, log: { debug(message: string): void }): DockerApi {
  const say = (method: string, path: string, body: unknown) =>
    log.debug(
      `> ${method} ${path}${body === undefined ? "" : ` ${describeRequestBody(body)}`} (Engine API on ${api.socketPath})`,
    );
  return {
    socketPath: api.socketPath,
    call: (method, path, options) => {
      say(method, path, options?.body);
      return api.call(method, path, options);
    },
    upgrade: (path, body, options) => {
      say("POST", path, body);
      return api.upgrade(path, body, options);
    },
  };
}

/** Docker's API on the socket the CLI would use; none for podman (its CLI it is). */
export function defaultDockerApi(bin: string, env: NodeJS.ProcessEnv = process.env): DockerApi | undefined {
  const socket = bin === "docker" ? dockerSocketPath(env) : undefined;
  return socket === undefined ? undefined : createDockerApi(socket);
}

/**
 * The container's exit code once it is no longer running (-1 when it is gone already, e.g. a
 * `--rm` container, or unknown); undefined when `signal` aborted. One long-poll request, no polling.
 */
export async function waitContainerStopped(
  api: DockerApi,
  name: string,
  signal: AbortSignal,
): Promise<number | undefined> {
  const r = await api
    .call("POST", `/containers/${encodeURIComponent(name)}/wait?condition=not-running`, { timeoutMs: 0, signal })
    .catch(() => undefined);
  if (r === undefined || signal.aborted) return undefined;
  if (r.status !== 200) return -1;
  try {
    const code = (JSON.parse(r.body) as { StatusCode?: unknown }).StatusCode;
    return typeof code === "number" ? code : -1;
  } catch {
    return -1;
  }
}
