import path from "node:path";
import { UserError } from "../common/index.js";
import { type ImageReference, repositoryName } from "./image-reference.js";

/**
 * The user's own registry credentials as `docker login` and `podman login` leave them: the
 * file formats, the lookups each engine does, the credential-helper answer, and the header
 * the Docker Engine API takes them in. Secrets pass through here and go nowhere else: no
 * message or `from` text ever holds one.
 */
export type RegistryAuth =
  | { readonly kind: "anonymous" }
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  /** An OAuth2 refresh token (`identitytoken`), exchanged at the registry's token server. */
  | { readonly kind: "identity-token"; readonly username: string; readonly token: string };

export const ANONYMOUS: RegistryAuth = { kind: "anonymous" };

/** One `auths` entry of config.json / auth.json. */
export interface AuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

export interface AuthFile {
  readonly auths: Readonly<Record<string, AuthEntry>>;
  readonly credHelpers: Readonly<Record<string, string>>;
  readonly credsStore: string | undefined;
}

/** config.json or auth.json; a file that is no JSON object is an error naming it. */
export function parseAuthFile(text: string, file: string): AuthFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UserError("auth-file-invalid", `${file} is not a JSON object, so its registry logins cannot be read`, {
      hint: `fix or remove it, then log in again (\`docker login REGISTRY\`)`,
    });
  }
  const { auths, credHelpers, credsStore } = parsed as Record<string, unknown>;
  return {
    auths: isRecord(auths) ? (auths as Record<string, AuthEntry>) : {},
    credHelpers: isRecord(credHelpers) ? onlyStrings(credHelpers) : {},
    credsStore: typeof credsStore === "string" && credsStore !== "" ? credsStore : undefined,
  };
}

/** The helper docker asks for `key`: `credHelpers[key]`, else `credsStore`. */
export function dockerHelperFor(file: AuthFile, key: string): string | undefined {
  return file.credHelpers[key] ?? file.credsStore;
}

/**
 * docker's file lookup: the key as is, else an entry whose key is that host once a scheme
 * and path are dropped (`https://reg:5000/v2/` for `reg:5000`).
 */
export function findDockerAuthEntry(file: AuthFile, key: string): { key: string; entry: AuthEntry } | undefined {
  const exact = file.auths[key];
  if (exact !== undefined) return { key, entry: exact };
  const found = Object.entries(file.auths).find(([k]) => toHostname(k) === key);
  return found === undefined ? undefined : { key: found[0], entry: found[1] };
}

/**
 * podman's (containers/image) lookup: `reg/ns/repo`, `reg/ns`, then `reg` as keys, then any
 * key that normalises to the registry (docker's `https://index.docker.io/v1/` is docker.io).
 */
export function findPodmanAuthEntry(
  file: AuthFile,
  ref: ImageReference,
): { key: string; entry: AuthEntry } | undefined {
  for (const key of podmanAuthKeys(ref)) {
    const entry = file.auths[key];
    if (entry !== undefined) return { key, entry };
  }
  const registry = normalizeHubHost(ref.domain);
  const found = Object.entries(file.auths).find(([k]) => normalizeHubHost(stripScheme(k)) === registry);
  return found === undefined ? undefined : { key: found[0], entry: found[1] };
}

/** `reg/a/b` → [`reg/a/b`, `reg/a`, `reg`]: most specific first. */
export function podmanAuthKeys(ref: ImageReference): string[] {
  const parts = repositoryName(ref).split("/");
  return parts.map((_, i) => parts.slice(0, parts.length - i).join("/"));
}

/** An entry's credentials; `where` names the file and key in errors, never the secret. */
export function decodeAuthEntry(entry: AuthEntry, where: string): RegistryAuth {
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") {
    return { kind: "identity-token", username: entry.username ?? "", token: entry.identitytoken };
  }
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) {
      throw new UserError("auth-entry-invalid", `the login for ${where} is not \`user:password\` in base64`, {
        hint: "log in again (`docker login REGISTRY`)",
      });
    }
    return { kind: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === "string" && entry.username !== "" && typeof entry.password === "string") {
    return { kind: "basic", username: entry.username, password: entry.password };
  }
  return ANONYMOUS;
}

/** A credential helper's `get` answer: `{"ServerURL","Username","Secret"}`; `<token>` marks an identity token. */
export function parseHelperAnswer(stdout: string, helper: string): RegistryAuth {
  let parsed: { Username?: unknown; Secret?: unknown } | undefined;
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || typeof parsed.Secret !== "string" || typeof parsed.Username !== "string") {
    throw new UserError("credential-helper-invalid", `\`${helper} get\` did not answer with credentials (JSON)`, {
      hint: `check \`${helper}\`, or remove it from ~/.docker/config.json and log in again`,
    });
  }
  if (parsed.Secret === "") return ANONYMOUS;
  if (parsed.Username === "<token>") return { kind: "identity-token", username: "", token: parsed.Secret };
  return { kind: "basic", username: parsed.Username, password: parsed.Secret };
}

/** What a helper prints when it has nothing for the server (docker-credential-helpers' ErrCredentialsNotFound). */
export function isHelperNotFound(output: string): boolean {
  return /credentials not found/i.test(output);
}

/**
 * The Engine API's `X-Registry-Auth`: base64url (padded, as Go's URLEncoding) of the auth
 * config JSON; undefined for anonymous pulls.
 */
export function registryAuthHeader(auth: RegistryAuth, serverAddress: string): string | undefined {
  if (auth.kind === "anonymous") return undefined;
  const config =
    auth.kind === "basic"
      ? { username: auth.username, password: auth.password, serveraddress: serverAddress }
      : { identitytoken: auth.token, serveraddress: serverAddress };
  return Buffer.from(JSON.stringify(config), "utf8").toString("base64").replace(/\+/g, "-").replace(/\//g, "_");
}

/** docker's config.json: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  return env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, "config.json") : path.join(home, ".docker", "config.json");
}

/**
 * The files podman reads, in order: `REGISTRY_AUTH_FILE` alone when set; else
 * `$XDG_RUNTIME_DIR/containers/auth.json` (without it /run/containers/UID/auth.json), then
 * `$XDG_CONFIG_HOME/containers/auth.json` (~/.config), then docker's config.json.
 */
export function podmanAuthFiles(env: NodeJS.ProcessEnv, home: string, uid: number): string[] {
  if (env.REGISTRY_AUTH_FILE) return [env.REGISTRY_AUTH_FILE];
  const runtime = env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, "containers") : `/run/containers/${uid}`;
  const config = env.XDG_CONFIG_HOME || path.join(home, ".config");
  return [path.join(runtime, "auth.json"), path.join(config, "containers", "auth.json"), dockerConfigPath(env, home)];
}

function stripScheme(key: string): string {
  const stripped = key.replace(/^https?:\/\//, "");
  return stripped === key ? key : (stripped.split("/")[0] ?? "");
}

function toHostname(key: string): string {
  return key.replace(/^https?:\/\//, "").split("/")[0] ?? "";
}

function normalizeHubHost(host: string): string {
  return host === "docker.io" || host === "registry-1.docker.io" ? "index.docker.io" : host;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function onlyStrings(record: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => typeof e[1] === "string"));
}
