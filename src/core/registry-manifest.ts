import { type ImageReference, manifestReference } from "./image-reference.js";

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
