import { type ImageReference, parseImageReference, repositoryName } from "./image-reference.js";

/**
 * What an engine knows of a local image: its ID and the registry digests it was pulled by.
 * dockerd's `GET /images/<name>/json` and podman's `image inspect` agree on these two fields.
 */
export interface LocalImage {
  readonly id: string;
  /** `reg:5000/team/app@sha256:…` (docker writes Docker Hub's short: `ubuntu@sha256:…`). */
  readonly repoDigests: readonly string[];
  /** The image config's PATH (which the agent's directory is put in front of); undefined when it sets none. */
  readonly path?: string | undefined;
  /** Its size unpacked, in bytes, as the engine says (about what its `save` archive holds). */
  readonly size?: number | undefined;
  /** The image config's entrypoint (`--container-entrypoint` runs the job through it); undefined when it sets none. */
  readonly entrypoint?: readonly string[] | undefined;
}

/** One inspect object (docker) or the first of an array (podman); undefined when it is neither. */
export function parseImageInspect(json: string): LocalImage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const image = (Array.isArray(parsed) ? parsed[0] : parsed) as
    | { Id?: unknown; RepoDigests?: unknown; Config?: { Env?: unknown; Entrypoint?: unknown }; Size?: unknown }
    | undefined;
  if (typeof image !== "object" || image === null || typeof image.Id !== "string") return undefined;
  const digests = Array.isArray(image.RepoDigests) ? image.RepoDigests.filter((d) => typeof d === "string") : [];
  const env = Array.isArray(image.Config?.Env) ? image.Config.Env : [];
  const pathEntry = env.find((entry): entry is string => typeof entry === "string" && entry.startsWith("PATH="));
  return {
    id: image.Id.startsWith("sha256:") ? image.Id : `sha256:${image.Id}`,
    repoDigests: digests,
    path: pathEntry?.slice("PATH=".length) || undefined,
    ...(typeof image.Size === "number" && image.Size >= 0 ? { size: image.Size } : {}),
    ...entrypointOf(image.Config?.Entrypoint),
  };
}

function entrypointOf(value: unknown): { entrypoint?: readonly string[] } {
  if (!Array.isArray(value) || value.length === 0 || !value.every((word) => typeof word === "string")) return {};
  return { entrypoint: value };
}

/** The digest the image was pulled by from `ref`'s repository, if it was. */
export function repoDigestFor(image: LocalImage, ref: ImageReference): string | undefined {
  const wanted = repositoryName(ref);
  for (const entry of image.repoDigests) {
    try {
      const parsed = parseImageReference(entry);
      if (parsed.digest !== undefined && repositoryName(parsed) === wanted) return parsed.digest;
    } catch {
      // An entry the engine wrote that is no reference: not this one.
    }
  }
  return undefined;
}

/** Whether the local image is the one `digest` names in `ref`'s repository (`--pull=missing` with a pin). */
export function hasDigest(image: LocalImage, ref: ImageReference, digest: string): boolean {
  return image.repoDigests.some((entry) => {
    try {
      const parsed = parseImageReference(entry);
      return parsed.digest === digest && repositoryName(parsed) === repositoryName(ref);
    } catch {
      return false;
    }
  });
}

/** `Loaded image: name:tag` or `Loaded image ID: sha256:…` (docker), `Loaded image(s): …` (podman). */
export function loadedName(stdout: string): string | undefined {
  const line = stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("Loaded image"))
    .at(-1);
  if (line === undefined) return undefined;
  const value = line.slice(line.indexOf(":") + 1).trim();
  return value.split(",")[0]?.trim() || undefined;
}
