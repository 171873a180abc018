import { EXIT_USAGE, UserError } from "../common/index.js";

/**
 * Image references read the way docker reads them (distribution/reference's grammar and
 * `ParseNormalizedNamed`), so the image srun-docker resolves and pulls is the one `docker
 * run IMAGE` would have run: `ubuntu` is docker.io/library/ubuntu:latest, a first component
 * with a `.` or `:`, or `localhost`, or an upper-case letter is a registry host.
 */
export interface ImageReference {
  /** `docker.io`, `registry.example.com:5000`, `[::1]:5000`. */
  readonly domain: string;
  /** The repository inside the registry: `library/ubuntu`, `team/app`. */
  readonly path: string;
  /** As written; undefined when absent (then `latest`, unless a digest is given). */
  readonly tag: string | undefined;
  /** `sha256:<hex>` as written; with a tag too, docker pulls by the digest. */
  readonly digest: string | undefined;
}

/** What `--container` names: an image in a registry, a `docker save` archive, or a local image ID. */
export type ImageSource =
  | { readonly kind: "registry"; readonly ref: ImageReference }
  | { readonly kind: "archive"; readonly path: string }
  | { readonly kind: "image-id"; readonly id: string };

export const DOCKER_HUB_DOMAIN = "docker.io";
/** The key `docker login` writes for Docker Hub in config.json, and the server URL helpers get. */
export const DOCKER_HUB_CREDENTIAL_KEY = "https://index.docker.io/v1/";
/** Where Docker Hub's registry API answers (docker.io itself does not). */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
export const DEFAULT_TAG = "latest";

// distribution/reference's regexp.go, piece by piece.
const ALNUM = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const HOST = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])`;
const DOMAIN_RE = new RegExp(`^${HOST}(?::[0-9]+)?$`);
const REMAINDER_RE = new RegExp(
  `^(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$`,
);
const NAME_TOTAL_LENGTH_MAX = 255;
const DIGEST_HEX_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
const IMAGE_ID_RE = /^(?:sha256:)?([a-f0-9]{64})$/;
const ARCHIVE_RE = /\.(?:tar|tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tar\.zst)$/;

/** `--container`'s value: a path (starts with `/`, `./` or `../`, no reference can) is an archive. */
export function parseImageSource(text: string): ImageSource {
  if (text.startsWith("/") || text.startsWith("./") || text.startsWith("../")) {
    if (ARCHIVE_RE.test(text)) return { kind: "archive", path: text };
    throw invalid(
      text,
      "a path, but not of a `docker save` archive (.tar, .tar.gz, .tgz, .tar.xz, .tar.bz2, .tar.zst)",
    );
  }
  const id = IMAGE_ID_RE.exec(text);
  // The daemon looks a full `sha256:<hex>` up as an image ID before any name; a bare 64-hex
  // string is refused by docker's parser for the same reason ("cannot specify 64-byte
  // hexadecimal strings"), so both mean a local image.
  if (id?.[1] !== undefined) return { kind: "image-id", id: `sha256:${id[1]}` };
  return { kind: "registry", ref: parseImageReference(text) };
}

/** docker's `ParseNormalizedNamed`; throws a usage UserError with docker's reason. */
export function parseImageReference(text: string): ImageReference {
  if (text === "") throw invalid(text, "repository name must have at least one component");
  const slash = text.indexOf("/");
  const first = slash < 0 ? "" : text.slice(0, slash);
  const isDomain = slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let domain = isDomain ? first : DOCKER_HUB_DOMAIN;
  let remainder = isDomain ? text.slice(slash + 1) : text;
  if (domain === "index.docker.io") domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !remainder.includes("/")) remainder = `library/${remainder}`;
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) throw invalid(text, `repository name (${remote}) must be lowercase`);
  const match = REMAINDER_RE.exec(remainder);
  if (!DOMAIN_RE.test(domain) || match === null) throw invalid(text, "invalid reference format");
  const [, path = "", tag, digest] = match;
  if (domain.length + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(text, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (digest !== undefined) checkDigest(text, digest);
  return { domain, path, tag, digest };
}

/** go-digest's checks: a known algorithm, its hex length, lower case. */
function checkDigest(text: string, digest: string): void {
  const [algorithm = "", hex = ""] = digest.split(":");
  const length = DIGEST_HEX_LENGTHS[algorithm];
  if (length === undefined) throw invalid(text, `unsupported digest algorithm \`${algorithm}\``);
  if (hex.length !== length) throw invalid(text, "invalid checksum digest length");
  if (!/^[a-f0-9]+$/.test(hex)) throw invalid(text, "invalid checksum digest format");
}

/** A well-formed `sha256:<64 hex>` (what a registry's Docker-Content-Digest must be). */
export function isDigest(text: string): boolean {
  return /^sha256:[a-f0-9]{64}$/.test(text) || /^sha512:[a-f0-9]{128}$/.test(text);
}

/** `docker.io/library/ubuntu`: the repository, fully qualified. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The tag or digest a pull asks the registry for: the digest wins, else the tag, else `latest`. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** `docker.io/library/ubuntu:latest`, `reg:5000/app@sha256:…`: the full form docker prints. */
export function canonicalString(ref: ImageReference): string {
  const tag = ref.tag !== undefined || ref.digest === undefined ? `:${ref.tag ?? DEFAULT_TAG}` : "";
  return `${repositoryName(ref)}${tag}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** `ubuntu:22.04`: docker's short form (no docker.io/, no library/), for messages. */
export function familiarString(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.domain === DOCKER_HUB_DOMAIN) {
    name = ref.path.startsWith("library/") && ref.path.split("/").length === 2 ? ref.path.slice(8) : ref.path;
  }
  return `${name}${ref.tag === undefined ? "" : `:${ref.tag}`}${ref.digest === undefined ? "" : `@${ref.digest}`}`;
}

/** `docker.io/library/ubuntu@sha256:…`: the one image every node runs, whatever the tag moves to. */
export function pinnedString(ref: ImageReference, digest: string): string {
  return `${repositoryName(ref)}@${digest}`;
}

/** The config.json / credential-helper key for the registry: Docker Hub's legacy URL, else the host. */
export function credentialKey(ref: ImageReference): string {
  return ref.domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_CREDENTIAL_KEY : ref.domain;
}

/** The host[:port] the registry API (`/v2/`) answers on. */
export function registryApiHost(ref: ImageReference): string {
  return ref.domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : ref.domain;
}

function invalid(text: string, why: string): UserError {
  return new UserError("image-reference", `\`${text}\` is not an image reference: ${why}`, {
    exitCode: EXIT_USAGE,
    hint:
      "write [HOST[:PORT]/]NAME[:TAG][@sha256:DIGEST], e.g. ubuntu:22.04 or registry.example.com:5000/team/app:1.2," +
      " or a path to a `docker save` archive, e.g. ./image.tar",
  });
}
