/**
 * Docker's Engine API on its unix socket, from srun-docker's own process (Node's `http`, no
 * client library). Teardown goes this way because a `docker rm -f` child is a process of the
 * Slurm step: the step's own SIGTERM kills it half-way, and the container stays. A request
 * made by this process survives every signal this process survives.
 */
import { request } from "node:http";

export interface ApiResponse {
  status: number;
  body: string;
}

export interface CallOptions {
  /** No answer by then rejects (default 5 s); 0 waits as long as it takes (a long poll). */
  timeoutMs?: number;
  /** Aborting rejects and closes the request. */
  signal?: AbortSignal;
}

export interface DockerApi {
  /** The socket it talks to, for messages and `--debug`. */
  readonly socketPath: string;
  call(method: "GET" | "POST" | "DELETE", path: string, options?: CallOptions): Promise<ApiResponse>;
}

/**
 * The daemon's unix socket as the docker CLI would find it (`DOCKER_HOST=unix://...`, else
 * the default); undefined when the CLI talks to something else (tcp, ssh contexts): then the
 * CLI stays the way to reach it.
 */
export function dockerSocketPath(env: NodeJS.ProcessEnv): string | undefined {
  const host = env.DOCKER_HOST;
  if (host === undefined || host === "") return env.DOCKER_CONTEXT ? undefined : "/var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
}

export function createDockerApi(socketPath: string): DockerApi {
  return {
    socketPath,
    call: (method, path, { timeoutMs = 5000, signal } = {}) =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            socketPath,
            path,
            method,
            headers: { Host: "docker" },
            ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
            ...(signal ? { signal } : {}),
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("error", reject);
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
          },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
        req.on("error", reject);
        req.end();
      }),
  };
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

/** The same API, saying each call on `--debug` as the request line it sends. */
export function withDebugLog(api: DockerApi, log: { debug(message: string): void }): DockerApi {
  return {
    socketPath: api.socketPath,
    call: (method, path, options) => {
      log.debug(`> ${method} ${path} (Engine API on ${api.socketPath})`);
      return api.call(method, path, options);
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
