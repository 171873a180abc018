/**
 * A tag's digest from dockerd itself: `GET /distribution/<name>/json`, with the user's login in
 * `X-Registry-Auth` as a pull sends it (the daemon reads no config.json). The daemon asks the
 * registry the way its own pull will: its TLS setup (`/etc/docker/certs.d`, insecure
 * registries), its proxy, and for Docker Hub its mirrors. So the digest pinned is one the
 * nodes' pulls can get, and nothing here reads certificates. A busy registry is asked again
 * after a back-off, as registry-client.ts does.
 */
import {
  canonicalString,
  classifyEngineError,
  credentialKey,
  type ImageReference,
  isSchema1,
  type RegistryAuth,
  readDistributionDescriptor,
  registryAuthHeader,
  schema1Failure,
} from "../../core/image/index.js";
import { realTimers } from "../process/index.js";
import {
  type ResolveResult,
  type ResolveStep,
  type RetryOptions,
  retryResolution,
  sayWhoAsked,
} from "../registry/index.js";
import { apiMessage, type DockerApi } from "./docker-api.js";

/** dockerd asks the registry itself; one answer should not take longer than a registry's. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `GET /distribution/…/json`: its path and headers (the login only in the header, never in a URL). */
export function dockerDistributionRequest(
  ref: ImageReference,
  auth: RegistryAuth,
): { path: string; headers: Record<string, string> } {
  const header = registryAuthHeader(auth, credentialKey(ref));
  // The name is left as it is: the route takes the slashes of `host/repo:tag` as they come,
  // and parseImageReference allows no character that would need escaping.
  return {
    path: `/distribution/${canonicalString(ref)}/json`,
    headers: header === undefined ? {} : { "X-Registry-Auth": header },
  };
}

export function resolveWithDockerApi(
  api: DockerApi,
  ref: ImageReference,
  auth: RegistryAuth,
  options: RetryOptions,
): Promise<ResolveResult> {
  return retryResolution(ref.domain, () => askDockerd(api, ref, auth, options), options);
}

async function askDockerd(
  api: DockerApi,
  ref: ImageReference,
  auth: RegistryAuth,
  options: RetryOptions,
): Promise<ResolveStep> {
  const timers = options.timers ?? realTimers;
  const left = options.deadline === undefined ? REQUEST_TIMEOUT_MS : options.deadline - timers.now();
  if (left <= 0) return { kind: "failed", failure: { kind: "timeout", detail: `dockerd at ${api.socketPath}` } };
  const { path, headers } = dockerDistributionRequest(ref, auth);
  const response = await api
    .call("GET", path, {
      headers,
      timeoutMs: Math.max(1, Math.min(left, REQUEST_TIMEOUT_MS)),
    })
    .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  if (response instanceof Error) {
    const kind = timers.now() >= (options.deadline ?? Number.POSITIVE_INFINITY) ? "timeout" : "other";
    return {
      kind: "failed",
      failure: { kind, detail: `cannot ask dockerd at ${api.socketPath}: ${response.message}` },
    };
  }
  if (response.status !== 200)
    return { kind: "failed", failure: sayWhoAsked(classifyEngineError(apiMessage(response)), auth) };
  const descriptor = readDistributionDescriptor(response.body);
  if (descriptor === undefined)
    return { kind: "failed", failure: { kind: "other", detail: `dockerd answered ${path} without a digest` } };
  if (isSchema1(descriptor.mediaType)) return { kind: "failed", failure: schema1Failure(descriptor.mediaType) };
  return { kind: "done", digest: descriptor.digest };
}
