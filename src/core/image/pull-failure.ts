/**
 * Why a pull failed, as data (STYLE: expected failures are a union told apart by `kind`),
 * whoever noticed it: our registry client (an HTTP status, a socket error) or the engine
 * (dockerd's and podman's error texts, which carry the registry's words).
 */
export type PullFailureKind =
  /** The repository has no such tag or digest. */
  | "manifest-unknown"
  /** The registry has no such repository. */
  | "name-unknown"
  /** 401: no credentials, or the registry refused them (Docker Hub also says this for a repository that does not exist). */
  | "unauthorized"
  /** 403 / `denied`: the credentials are fine but may not pull this. */
  | "forbidden"
  /** DNS, connection refused, no route, timeouts: the registry cannot be reached. */
  | "unreachable"
  /** The connection was reset mid-way (retried: it is usually a proxy or a load balancer). */
  | "connection-reset"
  /** The registry's certificate is not trusted, or it does not speak TLS. */
  | "tls"
  /** 429 / `toomanyrequests`. */
  | "rate-limited"
  /** 5xx. */
  | "server-error"
  /** The engine's disk on the node is full. */
  | "disk-full"
  /** `--pull-timeout` passed. */
  | "timeout"
  | "other";

export interface PullFailure {
  readonly kind: PullFailureKind;
  /** What was said, for the message: the registry's or the engine's own words (never a credential). */
  readonly detail: string;
  /** The HTTP status, when there was one. */
  readonly status?: number;
}

/** Worth another try after a pause: the registry is busy or the connection broke, not a wrong name or login. */
export function isRetryable(failure: PullFailure): boolean {
  return failure.kind === "rate-limited" || failure.kind === "server-error" || failure.kind === "connection-reset";
}

/**
 * An HTTP error status from the registry API, with its error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`, empty for HEAD).
 */
export function classifyRegistryStatus(status: number, body: string): PullFailure {
  const error = readRegistryError(body);
  const detail = error === undefined ? `HTTP ${status}` : `${error.message || error.code} (HTTP ${status})`;
  const code = error?.code ?? "";
  const kind = REGISTRY_STATUS_RULES.find(([codes, test]) => codes.includes(code) || test(status))?.[2] ?? "other";
  return { kind, detail, status };
}

/** distribution's error codes first (a 404 may be either unknown), then the status alone. */
const REGISTRY_STATUS_RULES: readonly (readonly [readonly string[], (status: number) => boolean, PullFailureKind])[] = [
  [["NAME_UNKNOWN"], () => false, "name-unknown"],
  [["MANIFEST_UNKNOWN"], (status) => status === 404, "manifest-unknown"],
  [["DENIED"], (status) => status === 403, "forbidden"],
  [["UNAUTHORIZED"], (status) => status === 401, "unauthorized"],
  [["TOOMANYREQUESTS"], (status) => status === 429, "rate-limited"],
  [[], (status) => status >= 500, "server-error"],
];

/** The first error of a registry error body, if it is one. */
export function readRegistryError(body: string): { code: string; message: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first === undefined || typeof first.code !== "string") return undefined;
    return { code: first.code, message: typeof first.message === "string" ? first.message : "" };
  } catch {
    return undefined;
  }
}

/** A socket error from our own client (its `code`, e.g. ECONNREFUSED, and message). */
export function classifyNetworkError(code: string | undefined, message: string): PullFailure {
  const detail = code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
  if (code !== undefined && CONNECTION_RESET_CODES.has(code)) return { kind: "connection-reset", detail };
  if (code !== undefined && (TLS_CODES.has(code) || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL"))) {
    return { kind: "tls", detail };
  }
  if (/wrong version number|certificate|self[- ]signed/i.test(message)) return { kind: "tls", detail };
  if (/socket hang up/i.test(message)) return { kind: "connection-reset", detail };
  return { kind: "unreachable", detail };
}

const CONNECTION_RESET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "EPROTO",
]);

/**
 * The engine's error text (dockerd's `errorDetail.message` or the body of a failed
 * `/images/create`; podman's `Error: ...`), by the first rule that matches. Order matters: a
 * failed layer write names paths, docker's "pull access denied" also says "denied", a TLS
 * handshake timeout is a timeout, not a certificate problem.
 */
const ENGINE_ERROR_RULES: readonly (readonly [RegExp, PullFailureKind])[] = [
  [/no space left on device|disk quota exceeded/, "disk-full"],
  [/toomanyrequests|too many requests|rate limit/, "rate-limited"],
  [/name unknown|repository name not known/, "name-unknown"],
  [/manifest unknown|manifest for .* not found|: not found$/, "manifest-unknown"],
  [
    /pull access denied|unauthorized|authentication required|no basic auth credentials|incorrect username or password/,
    "unauthorized",
  ],
  [/denied/, "forbidden"],
  [
    /tls handshake timeout|no such host|connection refused|i\/o timeout|network is unreachable|no route to host|deadline exceeded|name resolution|dial tcp/,
    "unreachable",
  ],
  [/x509|certificate|tls:|http response to https client/, "tls"],
  [/connection reset|unexpected eof|broken pipe/, "connection-reset"],
  [
    /unexpected http status: 5\d\d|\b5\d\d (?:internal server error|bad gateway|service unavailable|gateway timeout)/,
    "server-error",
  ],
];

export function classifyEngineError(text: string): PullFailure {
  const detail = text.trim().replace(/^Error(?: response from daemon)?: /, "");
  const lower = detail.toLowerCase();
  const kind = ENGINE_ERROR_RULES.find(([pattern]) => pattern.test(lower))?.[1] ?? "other";
  return { kind, detail };
}
