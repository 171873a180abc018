// A registry on 127.0.0.1 that answers as distribution (registry:2.8) does, over real TLS
// with a throwaway CA made by the openssl CLI: the manifest endpoints, htpasswd-style basic
// auth or token auth (a token server at /token, as docker_auth/Docker Hub: anonymous tokens
// for public repositories, basic auth or an OAuth2 refresh token for the rest), its error
// bodies and headers. Faults are queued per test: a status with headers, or a reset socket.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface TestCa {
  readonly dir: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  cleanUp(): void;
}

/** A CA and a server certificate for IP 127.0.0.1 signed by it (EC keys: fast). */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(path.join(tmpdir(), "registry-ca-"));
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=srun-docker test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1");
  writeFileSync(at("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.crt",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  return {
    dir,
    caPem: readFileSync(at("ca.crt"), "utf8"),
    certPem: readFileSync(at("server.crt"), "utf8"),
    keyPem: readFileSync(at("server.key"), "utf8"),
    cleanUp: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface FakeRepository {
  readonly tags: Readonly<Record<string, string>>;
  /** Pullable without a login (a token is still needed in token mode). */
  readonly public?: boolean;
}

export interface FakeRegistryOptions {
  readonly auth: "none" | "basic" | "token";
  readonly users?: Readonly<Record<string, string>>;
  /** Refresh token → user, for the OAuth2 grant. */
  readonly refreshTokens?: Readonly<Record<string, string>>;
  readonly repositories: Readonly<Record<string, FakeRepository>>;
  /** Users with no pull right on a repository: 403 DENIED. */
  readonly denied?: Readonly<Record<string, readonly string[]>>;
  /** Leave out Docker-Content-Digest (some registries and proxies do). */
  readonly omitDigestHeader?: boolean;
}

export type Fault = { readonly status: number; readonly headers?: Record<string, string> } | "reset";

export interface FakeRegistry {
  readonly host: string;
  /** `METHOD path` plus which Authorization scheme came (`-`, `Basic`, `Bearer`). */
  readonly requests: string[];
  /** Served (one each) to the next manifest requests before anything else. */
  readonly faults: Fault[];
  digestOf(manifest: string): string;
  close(): Promise<void>;
}

export const MANIFEST_TYPE = "application/vnd.oci.image.index.v1+json";
const SERVICE = "registry.test";

export async function startFakeRegistry(ca: TestCa, options: FakeRegistryOptions): Promise<FakeRegistry> {
  const registry = new Registry(options);
  const server: Server = createServer({ cert: ca.certPem, key: ca.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => registry.handle(req, res, Buffer.concat(chunks).toString()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  registry.port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${registry.port}`,
    requests: registry.requests,
    faults: registry.faults,
    digestOf,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const digestOf = (manifest: string) => `sha256:${createHash("sha256").update(manifest).digest("hex")}`;

/** The registry's state: what it was asked, the faults queued, the tokens it issued. */
class Registry {
  readonly requests: string[] = [];
  readonly faults: Fault[] = [];
  readonly #tokens = new Map<string, string>(); // token → user ("" for anonymous)
  port = 0;

  constructor(private readonly options: FakeRegistryOptions) {}

  handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? "/", `https://127.0.0.1:${this.port}`);
    const authorization = req.headers.authorization ?? "";
    this.requests.push(`${req.method} ${url.pathname} ${authorization.split(" ")[0] || "-"}`);
    res.setHeader("Docker-Distribution-Api-Version", "registry/2.0");
    if (url.pathname === "/token") return this.#token(req, res, url, body, authorization);
    const match = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (match === null) return error(res, 404, "NOT_FOUND", "page not found");
    const fault = this.faults.shift();
    if (fault === "reset") return void req.socket.destroy();
    if (fault !== undefined) return void res.writeHead(fault.status, fault.headers ?? {}).end();
    const [, name = "", reference = ""] = match;
    const user = this.#userOf(authorization, name);
    if (user === undefined) return this.#challenge(res, name);
    if (this.options.denied?.[name]?.includes(user))
      return error(res, 403, "DENIED", "requested access to the resource is denied");
    this.#manifest(req, res, name, reference);
  }

  #manifest(req: IncomingMessage, res: ServerResponse, name: string, reference: string) {
    const repository = this.options.repositories[name];
    if (repository === undefined) return error(res, 404, "NAME_UNKNOWN", "repository name not known to registry", req);
    const manifest =
      Object.values(repository.tags).find((m) => digestOf(m) === reference) ?? repository.tags[reference];
    if (manifest === undefined) return error(res, 404, "MANIFEST_UNKNOWN", "manifest unknown", req);
    const headers: Record<string, string> = {
      "Content-Type": MANIFEST_TYPE,
      "Content-Length": String(Buffer.byteLength(manifest)),
    };
    if (!this.options.omitDigestHeader) headers["Docker-Content-Digest"] = digestOf(manifest);
    res.writeHead(200, headers).end(req.method === "HEAD" ? undefined : manifest);
  }

  /** Who may pull `name` with this Authorization: a user, "" (anonymous), or undefined (401). */
  #userOf(authorization: string, name: string): string | undefined {
    const isPublic = this.options.repositories[name]?.public === true;
    if (this.options.auth === "none") return "";
    if (this.options.auth === "basic") return this.#basicUser(authorization) ?? (isPublic ? "" : undefined);
    const user = this.#tokens.get(authorization.replace(/^Bearer /, ""));
    return user === undefined || (user === "" && !isPublic) ? undefined : user;
  }

  #basicUser(authorization: string): string | undefined {
    if (!authorization.startsWith("Basic ")) return undefined;
    const [user = "", ...rest] = Buffer.from(authorization.slice(6), "base64").toString().split(":");
    return this.options.users?.[user] === rest.join(":") ? user : undefined;
  }

  #challenge(res: ServerResponse, name: string): void {
    const value =
      this.options.auth === "basic"
        ? 'Basic realm="Registry Realm"'
        : `Bearer realm="https://127.0.0.1:${this.port}/token",service="${SERVICE}",scope="repository:${name}:pull"`;
    res.setHeader("WWW-Authenticate", value);
    error(res, 401, "UNAUTHORIZED", "authentication required");
  }

  #token(req: IncomingMessage, res: ServerResponse, url: URL, body: string, authorization: string) {
    let user: string | undefined;
    if (req.method === "POST") {
      const form = new URLSearchParams(body);
      const ok = form.get("grant_type") === "refresh_token" && form.get("service") === SERVICE;
      user = ok ? this.options.refreshTokens?.[form.get("refresh_token") ?? ""] : undefined;
    } else {
      user = authorization === "" ? "" : this.#basicUser(authorization);
    }
    if (user === undefined || url.searchParams.get("service") !== (req.method === "POST" ? null : SERVICE)) {
      return error(res, 401, "UNAUTHORIZED", "authentication required");
    }
    const issued = `tok-${this.#tokens.size + 1}`;
    this.#tokens.set(issued, user);
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify(req.method === "POST" ? { access_token: issued } : { token: issued, expires_in: 300 }));
  }
}

function error(res: ServerResponse, status: number, code: string, message: string, req?: IncomingMessage): void {
  const text = JSON.stringify({ errors: [{ code, message, detail: {} }] });
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(text)) });
  res.end(req?.method === "HEAD" ? undefined : text);
}
