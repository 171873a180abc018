// The engine as the image step uses it: what it has under a name, a pull with progress, a load
// of a `docker save` archive. Docker goes through its Engine API (no CLI start per call) where
// it has a unix socket; podman, and docker without one, through the CLI.

import { UserError } from "../../core/common/index.js";
import { lastEngineLine } from "../../core/engine/index.js";
import type { RegistryAuth } from "../../core/image/index.js";
import { canonicalString, type ImageReference, type LocalImage, loadedName } from "../../core/image/index.js";
import type { DockerApi } from "../engine/index.js";
import { resolveWithDockerApi } from "../engine/index.js";
import { runCommand } from "../process/index.js";
import { type ResolveResult, type RetryOptions, resolveFromRegistry } from "../registry/index.js";
import {
  type EnginePullOptions,
  type EnginePullResult,
  inspectImageWithDockerApi,
  pullWithDockerApi,
} from "./docker-pull.js";
import { cliTransfer, dockerApiTransfer, type ImageTransfer } from "./image-transfer.js";
import { inspectImageWithPodman, pullWithPodman } from "./podman-pull.js";

export interface ImageEngine {
  readonly bin: "docker" | "podman";
  /** The image under a name, `repo@digest` or ID; undefined when the engine has none. */
  find(name: string): Promise<LocalImage | undefined>;
  /**
   * The registry's digest for `ref`'s tag, with the user's login: docker on its socket asks its
   * daemon (`/distribution`); podman, and docker through a remote daemon, ask the registry.
   */
  resolve(ref: ImageReference, auth: RegistryAuth, options: RetryOptions): Promise<ResolveResult>;
  /** Pulls `ref` with the user's login (docker: sent in the request; podman reads its own auth files). */
  pull(ref: ImageReference, auth: RegistryAuth, options: EnginePullOptions): Promise<EnginePullResult>;
  /** Loads a `docker save` archive; resolves with the image ID it gave. */
  load(path: string): Promise<string>;
  /** Names image `id` `repo:tag`, as a pull by tag would have (a pull by digest names nothing). */
  tag(id: string, repo: string, tag: string): Promise<void>;
  /** The image as a `save` archive stream, and an archive loaded as it comes (`--pull-once`'s relay). */
  readonly transfer: ImageTransfer;
}

type Run = typeof runCommand;

export function createImageEngine(
  bin: "docker" | "podman",
  node: string,
  api: DockerApi | undefined,
  run: Run = runCommand,
): ImageEngine {
  const load = async (path: string): Promise<string> => {
    const r = await run(bin, ["load", "-q", "-i", path], { timeoutMs: 30 * 60_000 });
    const loaded = r.exitCode === 0 ? loadedName(r.stdout) : undefined;
    if (loaded === undefined) {
      throw new UserError(
        "image-load-failed",
        `cannot load the archive ${path}: ${lastEngineLine(r.stderr) || lastEngineLine(r.stdout)}`,
        {
          hint: `check that it is a \`${bin} save\` archive readable on every node`,
        },
      );
    }
    const image = await find(loaded);
    if (image === undefined)
      throw new UserError("image-load-failed", `${bin} loaded ${path} as ${loaded}, then had no such image`);
    return image.id;
  };
  const find = (name: string): Promise<LocalImage | undefined> =>
    (bin === "docker" && api !== undefined
      ? inspectImageWithDockerApi(api, name)
      : inspectImageWithPodman(name, run, bin)
    ).catch((error: unknown) => {
      if (error instanceof UserError) throw error;
      const why = error instanceof Error ? error.message : String(error);
      throw new UserError("runtime", `${bin} is not usable on ${node}: ${why}`, {
        hint: `check that the ${bin} daemon runs on ${node} and that you may use it (group docker)`,
      });
    });
  const tag = async (id: string, repo: string, name: string): Promise<void> => {
    if (bin === "docker" && api !== undefined) {
      const query = new URLSearchParams({ repo, tag: name });
      const r = await api.call("POST", `/images/${encodeURIComponent(id)}/tag?${query}`);
      if (r.status !== 201)
        throw new UserError("image-tag-failed", `cannot name ${id} ${repo}:${name}: HTTP ${r.status}`);
      return;
    }
    const r = await run(bin, ["tag", id, `${repo}:${name}`]);
    if (r.exitCode !== 0)
      throw new UserError("image-tag-failed", `cannot name ${id} ${repo}:${name}: ${lastEngineLine(r.stderr)}`);
  };
  return {
    bin,
    find,
    load,
    tag,
    transfer: bin === "docker" && api !== undefined ? dockerApiTransfer(api.socketPath) : cliTransfer(bin),
    resolve: (ref, auth, options) =>
      bin === "docker" && api !== undefined
        ? resolveWithDockerApi(api, ref, auth, options)
        : resolveFromRegistry(bin, ref, auth, options),
    pull: (ref, auth, options) => {
      if (bin === "podman") return pullWithPodman(ref, options);
      if (api !== undefined) return pullWithDockerApi(ref, { ...options, socketPath: api.socketPath, auth });
      return pullWithDockerCli(ref, run, options);
    },
  };
}

/** docker with no local socket (tcp, ssh contexts): the CLI, which reads the user's login itself. */
async function pullWithDockerCli(ref: ImageReference, run: Run, options: EnginePullOptions): Promise<EnginePullResult> {
  const r = await run("docker", ["pull", "-q", canonicalString(ref)], {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (r.aborted) return { kind: "cancelled" };
  if (r.timedOut) return { kind: "failed", failure: { kind: "timeout", detail: `${options.timeoutMs} ms` } };
  if (r.exitCode !== 0) return { kind: "failed", failure: { kind: "other", detail: lastEngineLine(r.stderr) } };
  return { kind: "pulled", digest: undefined, imageId: undefined, upToDate: false };
}
