/**
 * The user's registry credentials where `docker login` / `podman login` put them: the files
 * (~/.docker/config.json or $DOCKER_CONFIG; podman's auth.json files) and the credential
 * helpers they name (`docker-credential-<name> get`, the server URL on stdin, JSON out).
 * They are used for the request they are read for and never written, logged or copied into
 * a container; `from` says where they came from without saying them.
 */
import { readFile as fsReadFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isErrno, UserError } from "../../core/common/index.js";
import {
  ANONYMOUS,
  type AuthFile,
  credentialKey,
  decodeAuthEntry,
  dockerConfigPath,
  dockerHelperFor,
  findDockerAuthEntry,
  findPodmanAuthEntry,
  type ImageReference,
  isHelperNotFound,
  parseAuthFile,
  parseHelperAnswer,
  podmanAuthFiles,
  type RegistryAuth,
} from "../../core/image/index.js";
import { type RunCommandResult, runCommand } from "../process/index.js";

export interface CredentialsFound {
  readonly auth: RegistryAuth;
  /** For `--debug`: the file and key, or the helper; never a secret. */
  readonly from: string;
}

export interface CredentialDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  readonly uid: number;
  /** The file's text; undefined when it does not exist. */
  readFile(file: string): Promise<string | undefined>;
  runHelper(program: string, serverUrl: string): Promise<RunCommandResult>;
}

const HELPER_TIMEOUT_MS = 30_000;

export function defaultCredentialDeps(env: NodeJS.ProcessEnv = process.env): CredentialDeps {
  return {
    env,
    home: env.HOME || homedir(),
    uid: process.getuid?.() ?? -1,
    readFile: async (file) => {
      try {
        return await fsReadFile(file, "utf8");
      } catch (error) {
        if (isErrno(error, "ENOENT", "ENOTDIR")) return undefined;
        throw new UserError("auth-file-unreadable", `cannot read ${file}: ${(error as Error).message}`, {
          hint: "check its permissions (it should be yours, mode 600)",
        });
      }
    },
    runHelper: (program, serverUrl) =>
      runCommand(program, ["get"], { env, input: serverUrl, timeoutMs: HELPER_TIMEOUT_MS }),
  };
}

/** What `docker pull` would send for `ref`: config.json's helper for the registry, else its `auths` entry. */
export async function readDockerCredentials(
  ref: ImageReference,
  deps: CredentialDeps = defaultCredentialDeps(),
): Promise<CredentialsFound> {
  const file = dockerConfigPath(deps.env, deps.home);
  const key = credentialKey(ref);
  const text = await deps.readFile(file);
  if (text === undefined) return { auth: ANONYMOUS, from: `no login (${file} does not exist)` };
  const config = parseAuthFile(text, file);
  const helper = dockerHelperFor(config, key);
  if (helper !== undefined) {
    const auth = await askHelper(helper, key, file, deps);
    return { auth, from: `docker-credential-${helper} (named in ${file})${auth.kind === "anonymous" ? ": none" : ""}` };
  }
  const found = findDockerAuthEntry(config, key);
  if (found === undefined) return { auth: ANONYMOUS, from: `no login for ${key} in ${file}` };
  return { auth: decodeAuthEntry(found.entry, `\`${found.key}\` in ${file}`), from: `\`${found.key}\` in ${file}` };
}

/** What `podman pull` would use for `ref`: the first of its auth files with a helper or a login for it. */
export async function readPodmanCredentials(
  ref: ImageReference,
  deps: CredentialDeps = defaultCredentialDeps(),
): Promise<CredentialsFound> {
  const files = podmanAuthFiles(deps.env, deps.home, deps.uid);
  for (const file of files) {
    const text = await deps.readFile(file);
    if (text === undefined) continue;
    const config: AuthFile = parseAuthFile(text, file);
    const helper = config.credHelpers[ref.domain];
    if (helper !== undefined) {
      const auth = await askHelper(helper, ref.domain, file, deps);
      if (auth.kind !== "anonymous") return { auth, from: `docker-credential-${helper} (named in ${file})` };
    }
    const found = findPodmanAuthEntry(config, ref);
    if (found === undefined) continue;
    const auth = decodeAuthEntry(found.entry, `\`${found.key}\` in ${file}`);
    if (auth.kind !== "anonymous") return { auth, from: `\`${found.key}\` in ${file}` };
  }
  return { auth: ANONYMOUS, from: `no login for ${ref.domain} in ${files.join(", ")}` };
}

/** The engine's own way of finding the user's credentials. */
export function readEngineCredentials(
  runtime: "docker" | "podman",
  ref: ImageReference,
  deps: CredentialDeps = defaultCredentialDeps(),
): Promise<CredentialsFound> {
  return runtime === "docker" ? readDockerCredentials(ref, deps) : readPodmanCredentials(ref, deps);
}

async function askHelper(helper: string, serverUrl: string, file: string, deps: CredentialDeps): Promise<RegistryAuth> {
  const program = `docker-credential-${helper}`;
  let result: RunCommandResult;
  try {
    result = await deps.runHelper(program, serverUrl);
  } catch (error) {
    if (error instanceof UserError && error.code === "command-not-found") {
      throw new UserError(
        "credential-helper-missing",
        `${file} names the credential helper \`${program}\`, which is not on PATH`,
        {
          hint: `install \`${program}\` on every node, or remove it from ${file} and log in again`,
        },
      );
    }
    throw error;
  }
  if (result.exitCode === 0) return parseHelperAnswer(result.stdout, program);
  // Helpers say their errors on stdout; one that printed JSON may have printed a secret.
  const said = `${result.stdout.trimStart().startsWith("{") ? "" : result.stdout}\n${result.stderr}`;
  if (isHelperNotFound(said)) return ANONYMOUS;
  const firstLine = said.trim().split("\n")[0] ?? "";
  const why = result.timedOut
    ? `no answer within ${HELPER_TIMEOUT_MS / 1000} s`
    : `exit ${result.exitCode ?? result.signal}: ${firstLine}`;
  throw new UserError("credential-helper-failed", `\`${program} get\` failed for ${serverUrl} (${why})`, {
    hint: `check that \`${program}\` works in this session (a locked keyring needs a login session), or log in again`,
  });
}
