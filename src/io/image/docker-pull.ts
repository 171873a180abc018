/**
 * A pull through Docker's Engine API on its socket, from srun-docker's own process:
 * `POST /images/create?fromImage=<repository>&tag=<tag or digest>` with the user's login in
 * `X-Registry-Auth` (the daemon reads no config.json; the docker CLI sends it the same way),
 * the JSON-lines progress read into events as it comes. Ending the request (timeout or
 * abort) makes dockerd cancel the pull. `GET /images/<name>/json` tells what is there.
 */
import { type IncomingMessage, request } from "node:http";
import { createInterface } from "node:readline";
import { UserError } from "../../core/common/index.js";
import {
  applyStreamEvent,
  classifyEngineError,
  credentialKey,
  EMPTY_OUTCOME,
  type ImageReference,
  type LocalImage,
  manifestReference,
  type PullFailure,
  type PullStreamEvent,
  parseDockerPullLine,
  parseImageInspect,
  type RegistryAuth,
  registryAuthHeader,
  repositoryName,
} from "../../core/image/index.js";
import { apiMessage, type DockerApi } from "../engine/index.js";

export interface EnginePullOptions {
  /** Called for each event as the engine says it (progress for the master's display). */
  readonly onEvent?: (event: PullStreamEvent) => void;
  /** The whole pull; past it the pull is ended and fails with `timeout`. */
  readonly timeoutMs?: number;
  /** Ends the pull (the job is being torn down): `cancelled`. */
  readonly signal?: AbortSignal;
}

export type EnginePullResult =
  | {
      readonly kind: "pulled";
      /** The registry digest pulled (dockerd says it; podman does not: inspect the image). */
      readonly digest: string | undefined;
      /** The local image ID (podman says it; dockerd does not: inspect the image). */
      readonly imageId: string | undefined;
      /** dockerd: the image was there already. */
      readonly upToDate: boolean;
    }
  | { readonly kind: "failed"; readonly failure: PullFailure }
  | { readonly kind: "cancelled" };

export interface DockerPullOptions extends EnginePullOptions {
  readonly socketPath: string;
  readonly auth: RegistryAuth;
}

/** `POST /images/create…`: its path and headers (the login only in the header, never in a URL). */
export function dockerPullRequest(
  ref: ImageReference,
  auth: RegistryAuth,
): { path: string; headers: Record<string, string> } {
  const query = new URLSearchParams({ fromImage: repositoryName(ref), tag: manifestReference(ref) });
  const header = registryAuthHeader(auth, credentialKey(ref));
  return {
    path: `/images/create?${query}`,
    headers: { Host: "docker", ...(header === undefined ? {} : { "X-Registry-Auth": header }) },
  };
}

/** dockerd refused the pull outright: its message, classified. */
function readRefusal(res: IncomingMessage, settle: (result: EnginePullResult) => void): void {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("error", () =>
    settle({ kind: "failed", failure: { kind: "other", detail: `dockerd ended its answer early` } }),
  );
  res.on("end", () => {
    const message = apiMessage({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
    settle({ kind: "failed", failure: classifyEngineError(message) });
  });
}

/** The pull's progress stream, a JSON line per event, to its end: pulled, or why not. */
function readPullStream(
  res: IncomingMessage,
  options: DockerPullOptions,
  settle: (result: EnginePullResult) => void,
): void {
  // A daemon that drops the connection mid-stream: the answer is cut, not complete.
  // (readline passes the response's error on to itself.)
  const cut = (): void =>
    settle({
      kind: "failed",
      failure: { kind: "other", detail: `dockerd ended the pull's answer early (${options.socketPath})` },
    });
  res.on("error", cut);
  let outcome = EMPTY_OUTCOME;
  const lines = createInterface({ input: res, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("error", cut);
  lines.on("line", (line) => {
    const event = parseDockerPullLine(line);
    if (event === undefined) return;
    outcome = applyStreamEvent(outcome, event);
    options.onEvent?.(event);
  });
  lines.on("close", () => {
    if (outcome.error !== undefined) settle({ kind: "failed", failure: classifyEngineError(outcome.error) });
    else if (res.complete)
      settle({ kind: "pulled", digest: outcome.digest, imageId: undefined, upToDate: outcome.upToDate });
    else cut();
  });
}

export function pullWithDockerApi(ref: ImageReference, options: DockerPullOptions): Promise<EnginePullResult> {
  const { path, headers } = dockerPullRequest(ref, options.auth);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: EnginePullResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(result);
    };
    const req = request({ socketPath: options.socketPath, path, method: "POST", headers }, (res) =>
      res.statusCode === 200 ? readPullStream(res, options, settle) : readRefusal(res, settle),
    );
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            settle({ kind: "failed", failure: { kind: "timeout", detail: `${options.timeoutMs} ms` } });
            req.destroy();
          }, options.timeoutMs);
    const onAbort = (): void => {
      settle({ kind: "cancelled" });
      req.destroy();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    req.on("error", (error: NodeJS.ErrnoException) => {
      settle({
        kind: "failed",
        failure: { kind: "other", detail: `cannot talk to dockerd at ${options.socketPath}: ${error.message}` },
      });
    });
    req.end();
  });
}

/** `GET /images/<name>/json`: the local image, or undefined when the engine has none by that name. */
export async function inspectImageWithDockerApi(api: DockerApi, name: string): Promise<LocalImage | undefined> {
  const response = await api.call("GET", `/images/${encodeURIComponent(name)}/json`);
  if (response.status === 404) return undefined;
  const image = response.status === 200 ? parseImageInspect(response.body) : undefined;
  if (image === undefined) {
    const why = response.status === 200 ? "an answer that is no image" : apiMessage(response);
    throw new UserError("image-inspect-failed", `cannot inspect image \`${name}\` through ${api.socketPath}: ${why}`, {
      hint: "check that dockerd is healthy (`docker info`)",
    });
  }
  return image;
}
