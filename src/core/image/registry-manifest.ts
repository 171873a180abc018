import { type ImageReference, isDigest, manifestReference } from "./image-reference.js";
import type { PullFailure } from "./pull-failure.js";

/**
 * What a tag points at, asked the way `docker pull` asks: every manifest kind it can run, so
 * the registry answers with the digest docker would pin (for a multi-platform image that is
 * the index, not one platform's manifest, so every node picks its own platform from it).
 */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");

/** `/v2/<name>/manifests/<tag-or-digest>`. */
export function manifestPath(ref: ImageReference): string {
  return `/v2/${ref.path}/manifests/${manifestReference(ref)}`;
}

/** The media type without parameters, lower case. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Schema 1 manifests (`...manifest.v1+prettyjws`): docker removed support for them; nothing to pin. */
export function isSchema1(mediaType: string): boolean {
  return mediaType.startsWith("application/vnd.docker.distribution.manifest.v1");
}

/** Docker has run no schema 1 image since 20.10 (and refuses to pull one since 23): nothing to pin. */
export function schema1Failure(mediaType: string): PullFailure {
  return { kind: "other", detail: `${mediaType} is a schema 1 manifest, which docker no longer runs` };
}

/**
 * The digest and media type of dockerd's `GET /distribution/<name>/json` answer
 * (`{"Descriptor":{"mediaType":…,"digest":…,"size":…},"Platforms":[…]}`); undefined for
 * anything else.
 */
export function readDistributionDescriptor(body: string): { digest: string; mediaType: string } | undefined {
  try {
    const descriptor = (JSON.parse(body) as { Descriptor?: { digest?: unknown; mediaType?: unknown } }).Descriptor;
    const digest = descriptor?.digest;
    if (typeof digest !== "string" || !isDigest(digest)) return undefined;
    return { digest, mediaType: mediaTypeOf(typeof descriptor?.mediaType === "string" ? descriptor.mediaType : "") };
  } catch {
    return undefined;
  }
}
