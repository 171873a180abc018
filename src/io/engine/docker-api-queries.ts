/**
 * EngineQueries over Docker's Engine API on its unix socket: one request from this process
 * instead of one docker CLI process each (see engine-queries.ts for the CLI's side). The
 * requests are the ones the CLI sends for the same command line (core/engine/docker-api-requests.ts).
 */
import {
  buildDockerExecArgs,
  containerListPath,
  containerLogsPath,
  imageInspectPath,
  looksMultiplexed,
  parseContainerList,
  parseImageInspect,
  StreamDemuxer,
} from "../../core/engine/index.js";
import { spawnInherit } from "../process/index.js";
import { type ApiResponse, apiMessage, type DockerApi } from "./docker-api.js";
import { startApiExec, startDetachedApiExec } from "./docker-exec.js";
import type { EngineQueries } from "./engine-queries.js";

export function apiQueries(api: DockerApi, node: string, spawn = spawnInherit): EngineQueries {
  /** A request that could not reach the daemon (no socket, no permission) says so, with the socket. */
  const get = (path: string): Promise<ApiResponse | { unreached: string }> =>
    api.call("GET", path).catch((error: unknown) => ({
      unreached: `cannot reach the daemon at ${api.socketPath}: ${error instanceof Error ? error.message : String(error)}`,
    }));
  return {
    via: "api",
    async inspectImage(image) {
      const r = await get(imageInspectPath(image));
      if ("unreached" in r) return { kind: "failed", why: r.unreached };
      if (r.status === 200) return { kind: "found", facts: parseImageInspect(r.body) };
      return r.status === 404 ? { kind: "missing" } : { kind: "failed", why: apiMessage(r) };
    },
    async list(labels) {
      const r = await get(containerListPath(labels));
      if ("unreached" in r) return { kind: "failed", why: r.unreached };
      if (r.status !== 200) return { kind: "failed", why: apiMessage(r) };
      return { kind: "listed", containers: parseContainerList(r.body) };
    },
    async logs(name, tail) {
      const r = await api.call("GET", containerLogsPath(name, tail));
      if (r.status !== 200) return { stdout: "", stderr: apiMessage(r) };
      return splitLogs(r.bytes ?? Buffer.from(r.body), r.contentType);
    },
    // A TTY is the CLI's to drive (raw mode, window size, detach keys): that exec stays with it.
    exec: (plan) =>
      plan.tty === true ? spawn("docker", buildDockerExecArgs(plan)) : startApiExec(api, plan, { node }),
    async execHelper(plan, timeoutMs) {
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
      await Promise.race([startDetachedApiExec(api, plan, node).catch(() => undefined), timeout]);
    },
  };
}

/**
 * A container without a TTY logs in frames; with one (`-t` in --dockopts), raw text. API 1.42+
 * says which in the content type; older daemons (20.10) do not, so the bytes are looked at.
 */
export function splitLogs(bytes: Buffer, contentType: string | undefined): { stdout: string; stderr: string } {
  const multiplexed = contentType?.includes("multiplexed-stream") === true || looksMultiplexed(bytes);
  if (!multiplexed) return { stdout: bytes.toString("utf8"), stderr: "" };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  try {
    for (const frame of new StreamDemuxer().push(bytes)) (frame.stream === "stdout" ? out : err).push(frame.payload);
  } catch {
    return { stdout: bytes.toString("utf8"), stderr: "" };
  }
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
}
