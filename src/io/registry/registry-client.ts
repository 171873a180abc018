/**
 * Resolves an image's tag to the digest `docker pull` would get, from the registry itself
 * (the Distribution API over Node's https): HEAD the manifest with every kind docker accepts,
 * answer a 401 the way it asks (a bearer token from its realm, or basic auth), read
 * `Docker-Content-Digest` (or hash the manifest when a registry leaves it out). A busy
 * registry (429, 5xx) or a reset connection is asked again after a back-off; everything
 * else fails at once, as data. Never logs a credential or a token. Docker on its local socket
 * asks its daemon instead (docker-distribution.ts); this client serves Podman, and the docker
 * CLI that talks to a remote daemon.
 */
import { createHash } from "node:crypto";
import { type BackoffPolicy, nextRetryDelayMs, parseRetryAfter, REGISTRY_BACKOFF } from "../../core/common/index.js";
import type { RegistryAuth } from "../../core/image/index.js";
import {
  type AuthChallenge,
  classifyNetworkError,
  classifyRegistryStatus,
  type ImageReference,
  isDigest,
  isRetryable,
  isSchema1,
  MANIFEST_ACCEPT,
  manifestPath,
  mediaTypeOf,
  type PullFailure,
  parseAuthChallenges,
  readToken,
  refreshTokenForm,
  registryApiHost,
  schema1Failure,
  tokenRequestUrl,
} from "../../core/image/index.js";
import { realTimers, sleep, type Timers } from "../process/index.js";
import { type RegistryResponse, sendRegistryRequest } from "./registry-http.js";
import { loadRegistryTrust, type RegistryTrust } from "./registry-tls.js";

/** How a resolution is asked again after a failure worth another try (429, 5xx, a reset). */
export interface RetryOptions {
  readonly timers?: Timers;
  /** In [0, 1), for the back-off's jitter. */
  readonly random?: () => number;
  readonly policy?: BackoffPolicy;
  /** On the timers' clock: a resolution still going then fails with `timeout`. */
  readonly deadline?: number;
  /** `--debug` lines: requests and statuses, never a header's value. */
  readonly debug?: (line: string) => void;
}

export interface ResolveOptions extends RetryOptions {
  readonly auth: RegistryAuth;
  readonly trust: RegistryTrust;
}

export type ResolveResult =
  | { readonly kind: "resolved"; readonly digest: string; readonly attempts: number }
  | { readonly kind: "failed"; readonly failure: PullFailure; readonly attempts: number };

/** One try at a resolution. */
export type ResolveStep =
  | { readonly kind: "done"; readonly digest: string }
  | { readonly kind: "failed"; readonly failure: PullFailure; readonly retryAfterMs?: number | undefined };

const REQUEST_TIMEOUT_MS = 30_000;

export function resolveImageDigest(ref: ImageReference, options: ResolveOptions): Promise<ResolveResult> {
  const session = createSession(ref, options, options.timers ?? realTimers);
  return retryResolution(ref.domain, session.resolveOnce, options);
}

/** The registry's (tag's) digest: the engine's own login and trust, read the way the engine reads them. */
export async function resolveFromRegistry(
  engine: "docker" | "podman",
  ref: ImageReference,
  auth: RegistryAuth,
  options: RetryOptions,
): Promise<ResolveResult> {
  const trust = await loadRegistryTrust(registryApiHost(ref), { engine });
  return resolveImageDigest(ref, { ...options, auth, trust });
}

/** `once`, asked again after a back-off while it fails in a way worth another try. */
export async function retryResolution(
  registry: string,
  once: () => Promise<ResolveStep>,
  options: RetryOptions,
): Promise<ResolveResult> {
  const timers = options.timers ?? realTimers;
  const random = options.random ?? Math.random;
  const policy = options.policy ?? REGISTRY_BACKOFF;
  for (let attempt = 1; ; attempt++) {
    const step = await once();
    if (step.kind === "done") return { kind: "resolved", digest: step.digest, attempts: attempt };
    const failed = { kind: "failed", failure: step.failure, attempts: attempt } as const;
    if (!isRetryable(step.failure)) return failed;
    const delay = nextRetryDelayMs({
      attempt,
      policy,
      random: random(),
      retryAfterMs: step.retryAfterMs,
      nowMs: timers.now(),
      deadlineMs: options.deadline,
    });
    if (delay === undefined) return failed;
    options.debug?.(`registry ${registry}: ${step.failure.detail}; try ${attempt + 1} in ${delay} ms`);
    await sleep(delay, timers);
  }
}

/** An unauthorized failure says whether a login was sent: "log in" and "log in again" differ. */
export function sayWhoAsked(failure: PullFailure, auth: RegistryAuth): PullFailure {
  if (failure.kind !== "unauthorized") return failure;
  return {
    ...failure,
    detail: `${failure.detail}, ${auth.kind === "anonymous" ? "without a login" : "with your login"}`,
  };
}

/** One resolution's state: its settings, and the Authorization header once a 401 earned it. */
interface Session {
  readonly ref: ImageReference;
  readonly options: ResolveOptions;
  readonly timers: Timers;
  readonly manifestUrl: URL;
  authorization: string | undefined;
}

function createSession(ref: ImageReference, options: ResolveOptions, timers: Timers) {
  const manifestUrl = new URL(`https://${registryApiHost(ref)}${manifestPath(ref)}`);
  const s: Session = { ref, options, timers, manifestUrl, authorization: undefined };
  return { resolveOnce: () => resolveOnce(s) };
}

async function call(
  s: Session,
  method: "GET" | "HEAD" | "POST",
  url: URL,
  headers: Record<string, string>,
  body?: string,
): Promise<RegistryResponse | ResolveStep> {
  const { options } = s;
  const left = options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - s.timers.now();
  if (left <= 0) return { kind: "failed", failure: { kind: "timeout", detail: `${method} ${url.host}` } };
  options.debug?.(`> ${method} ${url.origin}${url.pathname}`);
  try {
    const response = await sendRegistryRequest({
      url,
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      trust: options.trust,
      timeoutMs: Math.max(1, Math.min(REQUEST_TIMEOUT_MS, left)),
    });
    options.debug?.(`< ${response.status} ${method} ${url.pathname}`);
    return response;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return { kind: "failed", failure: classifyNetworkError(code, message ?? String(error)) };
  }
}

function statusFailure(response: RegistryResponse): ResolveStep {
  const failure = classifyRegistryStatus(response.status, response.body.toString("utf8"));
  const retryAfter = response.headers["retry-after"];
  return { kind: "failed", failure, retryAfterMs: parseRetryAfter(retryAfter, Date.now()) };
}

/** The Authorization header a 401's challenges ask for, or why there is none. */
async function authorize(s: Session, challenges: readonly string[]): Promise<string | ResolveStep> {
  const parsed = parseAuthChallenges(challenges);
  const bearer = parsed.find((c) => c.scheme === "bearer");
  if (bearer !== undefined) return bearerToken(s, bearer);
  const auth = s.options.auth;
  if (parsed.some((c) => c.scheme === "basic")) {
    if (auth.kind === "basic") return basicHeader(auth);
    return unauthorized(
      auth.kind === "anonymous"
        ? "the registry asks for a user and password, and there is no login for it"
        : "the registry asks for a user and password, and the login is a token",
    );
  }
  return unauthorized(`HTTP 401 without a challenge to answer (${parsed.map((c) => c.scheme).join(", ") || "none"})`);
}

/** A bearer token from the challenge's realm, asked with the login (or a refresh token) if there is one. */
async function bearerToken(s: Session, bearer: AuthChallenge): Promise<string | ResolveStep> {
  const { ref, options } = s;
  const auth = options.auth;
  const url = tokenRequestUrl(bearer, ref.path);
  if (url === undefined)
    return unauthorized(`the registry's token realm is unusable (${bearer.params.realm ?? "none"})`);
  const response =
    auth.kind === "identity-token"
      ? await call(
          s,
          "POST",
          new URL(url.origin + url.pathname),
          { "Content-Type": "application/x-www-form-urlencoded" },
          refreshTokenForm(bearer, ref.path, auth.token),
        )
      : await call(s, "GET", url, auth.kind === "basic" ? { Authorization: basicHeader(auth) } : {});
  if (!("status" in response)) return response;
  if (response.status !== 200) {
    const step = statusFailure(response);
    if (step.kind !== "failed") return step;
    return { ...step, failure: { ...step.failure, detail: `token server ${url.host}: ${step.failure.detail}` } };
  }
  const token = readToken(response.body.toString("utf8"));
  if (token === undefined) return unauthorized(`the token server ${url.host} answered without a token`);
  return `Bearer ${token}`;
}

function unauthorized(detail: string): ResolveStep {
  return { kind: "failed", failure: { kind: "unauthorized", detail, status: 401 } };
}

async function manifest(s: Session, method: "GET" | "HEAD"): Promise<RegistryResponse | ResolveStep> {
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
  if (s.authorization !== undefined) headers.Authorization = s.authorization;
  return call(s, method, s.manifestUrl, headers);
}

async function resolveOnce(s: Session): Promise<ResolveStep> {
  let response = await manifest(s, "HEAD");
  if ("status" in response && response.status === 401 && s.authorization === undefined) {
    const answer = await authorize(s, response.challenges);
    if (typeof answer !== "string") return answer;
    s.authorization = answer;
    response = await manifest(s, "HEAD");
  }
  if (!("status" in response)) return response;
  if (response.status === 200) return readDigest(s, response);
  // A HEAD's error has no body: a GET's tells an unknown tag from an unknown repository,
  // and says why a login was refused. (A busy registry is not asked twice.)
  const bodiless = response.status >= 400 && response.status < 500 && response.status !== 429;
  const full = bodiless ? await manifest(s, "GET") : response;
  if (!("status" in full)) return full;
  const step = statusFailure(full);
  return step.kind === "failed" ? { ...step, failure: sayWhoAsked(step.failure, s.options.auth) } : step;
}

async function readDigest(s: Session, head: RegistryResponse): Promise<ResolveStep> {
  let response = head;
  let digest = headerDigest(head);
  if (digest === undefined) {
    const got = await manifest(s, "GET");
    if (!("status" in got)) return got;
    if (got.status !== 200) return statusFailure(got);
    response = got;
    digest = headerDigest(got) ?? `sha256:${createHash("sha256").update(got.body).digest("hex")}`;
  }
  const mediaType = mediaTypeOf(response.headers["content-type"]);
  if (isSchema1(mediaType)) return { kind: "failed", failure: schema1Failure(mediaType) };
  if (s.ref.digest !== undefined && digest !== s.ref.digest) {
    return {
      kind: "failed",
      failure: { kind: "other", detail: `the registry answered ${digest} for ${s.ref.digest}` },
    };
  }
  return { kind: "done", digest };
}

function headerDigest(response: RegistryResponse): string | undefined {
  const value = response.headers["docker-content-digest"];
  return typeof value === "string" && isDigest(value.trim()) ? value.trim() : undefined;
}

function basicHeader(auth: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, "utf8").toString("base64")}`;
}
