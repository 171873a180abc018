import { expect, test } from "vitest";
import {
  classifyEngineError,
  classifyNetworkError,
  classifyRegistryStatus,
  isRetryable,
  type PullFailureKind,
} from "./pull-failure.js";

const body = (code: string, message: string) => JSON.stringify({ errors: [{ code, message, detail: {} }] });

test.each<[number, string, PullFailureKind, string]>([
  [404, body("MANIFEST_UNKNOWN", "manifest unknown"), "manifest-unknown", "manifest unknown (HTTP 404)"],
  [
    404,
    body("NAME_UNKNOWN", "repository name not known to registry"),
    "name-unknown",
    "repository name not known to registry (HTTP 404)",
  ],
  [404, "", "manifest-unknown", "HTTP 404"],
  [401, body("UNAUTHORIZED", "authentication required"), "unauthorized", "authentication required (HTTP 401)"],
  [401, "", "unauthorized", "HTTP 401"],
  [
    403,
    body("DENIED", "requested access to the resource is denied"),
    "forbidden",
    "requested access to the resource is denied (HTTP 403)",
  ],
  [
    429,
    body("TOOMANYREQUESTS", "You have reached your pull rate limit."),
    "rate-limited",
    "You have reached your pull rate limit. (HTTP 429)",
  ],
  [429, "", "rate-limited", "HTTP 429"],
  [500, "oops", "server-error", "HTTP 500"],
  [503, body("UNAVAILABLE", ""), "server-error", "UNAVAILABLE (HTTP 503)"],
  [400, body("MANIFEST_INVALID", "manifest invalid"), "other", "manifest invalid (HTTP 400)"],
])("registry %i %s → %s", (status, text, kind, detail) => {
  expect(classifyRegistryStatus(status, text)).toEqual({ kind, detail, status });
});

test.each<[string | undefined, string, PullFailureKind]>([
  ["ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5000", "unreachable"],
  ["ENOTFOUND", "getaddrinfo ENOTFOUND reg.example", "unreachable"],
  ["EAI_AGAIN", "getaddrinfo EAI_AGAIN reg", "unreachable"],
  ["ETIMEDOUT", "connect ETIMEDOUT 10.0.0.1:443", "unreachable"],
  ["ECONNRESET", "read ECONNRESET", "connection-reset"],
  ["EPIPE", "write EPIPE", "connection-reset"],
  [undefined, "socket hang up", "connection-reset"],
  ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate", "tls"],
  ["SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain", "tls"],
  ["ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames", "tls"],
  ["ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number", "tls"],
])("network %s → %s", (code, message, kind) => expect(classifyNetworkError(code, message).kind).toBe(kind));

test("a network detail names the code once", () => {
  expect(classifyNetworkError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:5000").detail).toBe(
    "connect ECONNREFUSED 127.0.0.1:5000",
  );
  expect(classifyNetworkError("ECONNRESET", "socket closed").detail).toBe("socket closed (ECONNRESET)");
});

// dockerd's and podman's words, as they print them.
test.each<[string, PullFailureKind]>([
  ["manifest for reg:5000/app:nope not found: manifest unknown: manifest unknown", "manifest-unknown"],
  [
    "Error: initializing source docker://reg:5000/app:nope: reading manifest nope in reg:5000/app: manifest unknown",
    "manifest-unknown",
  ],
  ["reg:5000/app:nope: not found", "manifest-unknown"],
  [
    "Error: initializing source docker://reg:5000/nope:latest: reading manifest latest in reg:5000/nope: name unknown: repository name not known to registry",
    "name-unknown",
  ],
  [
    "pull access denied for nope, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
    "unauthorized",
  ],
  ['Head "https://reg:5000/v2/app/manifests/1": no basic auth credentials', "unauthorized"],
  ["unauthorized: authentication required", "unauthorized"],
  [
    'Error response from daemon: Get "https://reg:5000/v2/": unauthorized: incorrect username or password',
    "unauthorized",
  ],
  ["denied: requested access to the resource is denied", "forbidden"],
  ['Get "https://reg:5000/v2/": dial tcp: lookup reg on 127.0.0.11:53: no such host', "unreachable"],
  ['Get "https://reg:5000/v2/": dial tcp 10.0.0.5:5000: connect: connection refused', "unreachable"],
  ['Get "https://reg:5000/v2/": net/http: TLS handshake timeout', "unreachable"],
  ['Get "https://reg:5000/v2/": context deadline exceeded', "unreachable"],
  [
    'Get "https://reg:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    "tls",
  ],
  ['Get "https://reg:5000/v2/": http: server gave HTTP response to HTTPS client', "tls"],
  [
    "toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating",
    "rate-limited",
  ],
  ["failed to register layer: write /usr/lib/x.so: no space left on device", "disk-full"],
  ['Error: writing blob: storing blob to file "/var/tmp/x": write /var/tmp/x: no space left on device', "disk-full"],
  ["read tcp 10.0.0.2:41234->10.0.0.5:5000: read: connection reset by peer", "connection-reset"],
  ["received unexpected HTTP status: 503 Service Unavailable", "server-error"],
  ["something else entirely", "other"],
])("engine %s → %s", (text, kind) => expect(classifyEngineError(text).kind).toBe(kind));

test("the engine's prefix is dropped from the detail", () => {
  expect(classifyEngineError("Error response from daemon: manifest unknown\n").detail).toBe("manifest unknown");
  expect(classifyEngineError("Error: manifest unknown").detail).toBe("manifest unknown");
});

test.each<[PullFailureKind, boolean]>([
  ["rate-limited", true],
  ["server-error", true],
  ["connection-reset", true],
  ["unreachable", false],
  ["unauthorized", false],
  ["manifest-unknown", false],
  ["disk-full", false],
])("isRetryable(%s) = %s", (kind, expected) => expect(isRetryable({ kind, detail: "" })).toBe(expected));
