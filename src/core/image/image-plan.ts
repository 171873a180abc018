// Which image every node of a job runs, and how each node gets it. The master decides
// once (`masterImageStep`): its local image pinned to a digest or an ID, or the registry's
// digest for the tag; every node then ends up with that one image ID (`nodeImageStep`), so a
// tag pushed again during start-up, or a stale copy of the tag on one node, never splits the job.
// Pure: io inspects, asks the registry, pulls and loads.

import { UserError } from "../common/index.js";
import type { ImageAnnouncement } from "../rendezvous/index.js";
import { type LocalImage, repoDigestFor } from "./image-inspect.js";
import { type ImageReference, type ImageSource, isDigest, pinnedString } from "./image-reference.js";
import type { PullPolicy } from "./pull-options.js";

/** The registry's answer for a tag: the manifest digest to pull, and the image ID it gives when known. */
export interface ResolvedTag {
  readonly digest: string;
  readonly id: string | undefined;
}

export type MasterImageStep =
  | { readonly kind: "announce"; readonly image: ImageAnnouncement }
  /** Ask the registry for the tag's digest, then `announceResolved`. */
  | { readonly kind: "resolve"; readonly ref: ImageReference }
  /** Load the archive on the master first, to learn the image ID it gives. */
  | { readonly kind: "load"; readonly path: string };

/** The master's first step, from what `--container` names, `--pull` and its own engine's copy. */
export function masterImageStep(
  source: ImageSource,
  policy: PullPolicy,
  local: LocalImage | undefined,
  node: string,
  given: string,
): MasterImageStep {
  switch (source.kind) {
    case "archive":
      return { kind: "load", path: source.path };
    case "image-id":
      if (local === undefined) throw missingImage(node, given, "an image ID names a local image, never pulled");
      return { kind: "announce", image: { ref: local.id, id: local.id } };
    case "registry": {
      const { ref } = source;
      if (policy === "always") return { kind: "resolve", ref };
      if (local === undefined) {
        if (policy === "never") throw missingImage(node, given, "--pull=never");
        // A reference with a digest needs no registry round trip: it is already pinned.
        if (ref.digest !== undefined) return { kind: "announce", image: { ref: pinnedString(ref, ref.digest) } };
        return { kind: "resolve", ref };
      }
      const digest = ref.digest ?? repoDigestFor(local, ref);
      // Built or loaded here (no registry digest): the workers must have this very image ID.
      return {
        kind: "announce",
        image: { ref: digest === undefined ? given : pinnedString(ref, digest), id: local.id },
      };
    }
  }
}

/** After the registry answered: every node pulls the digest and must end up with the same ID. */
export function announceResolved(ref: ImageReference, resolved: ResolvedTag): ImageAnnouncement {
  const pinned = pinnedString(ref, resolved.digest);
  return resolved.id === undefined ? { ref: pinned } : { ref: pinned, id: resolved.id };
}

export type NodeImageStep =
  | { readonly kind: "use"; readonly id: string }
  /** `--image-per-node`: this node's own image under the name, another build than the job's. */
  | { readonly kind: "own"; readonly image: LocalImage }
  | { readonly kind: "pull"; readonly ref: string }
  | { readonly kind: "load"; readonly path: string }
  /**
   * `--pull-once`: from the node this one gets it from (core/relay/relay-tree.ts); should that fail,
   * pull `fallback` from the registry (none: the image is in no registry, the relay is the only way).
   */
  | { readonly kind: "relay"; readonly fallback: string | undefined };

/** What a node knows besides the announcement and what it has of the job's image. */
export interface NodeImageContext {
  /** `--pull-once` on a node that has a node to get it from (every node but the master). */
  readonly fromPeer?: boolean;
  /** What this node's engine has under the name the user gave, when that is not the job's image. */
  readonly tagged?: LocalImage | undefined;
  /** `--image-per-node`: a copy of that name here runs, whatever its ID. */
  readonly perNode?: boolean;
  /** The node that chose the job's image (the master), for messages. */
  readonly master: string;
}

/**
 * What this node does with the announced image, given `local`, what its engine has under the
 * announced ID (or ref). A copy of the name with another ID (`tagged`: a stale pull, or the
 * node's own build of a tag every node built) is never used, but with `--image-per-node`. With
 * `--pull-once` every node but the master gets it from another node; an archive is still loaded
 * from its path, which every node reads alike.
 */
export function nodeImageStep(
  image: ImageAnnouncement,
  local: LocalImage | undefined,
  policy: PullPolicy,
  node: string,
  given: string,
  context: NodeImageContext,
): NodeImageStep {
  if (local !== undefined && (image.id === undefined || local.id === image.id)) return { kind: "use", id: local.id };
  const { tagged } = context;
  if (image.archive !== undefined) return { kind: "load", path: image.archive };
  if (context.perNode === true && tagged !== undefined) return { kind: "own", image: tagged };
  const pinned = isPinned(image.ref);
  // From another node only an image whose ID the master pinned: nothing else could be checked.
  if (context.fromPeer === true && image.id !== undefined && policy !== "never")
    return { kind: "relay", fallback: pinned ? image.ref : undefined };
  if (pinned && policy !== "never") return { kind: "pull", ref: image.ref };
  if (tagged !== undefined && image.id !== undefined && tagged.id !== image.id)
    throw anotherBuild(node, given, { there: tagged.id, job: image.id, master: context.master });
  throw missingImage(
    node,
    given,
    policy === "never" ? "--pull=never" : "it is in no registry (built or loaded on the master's node)",
  );
}

/** After a pull or a load: the ID this node got must be the job's. */
export function checkImageId(image: ImageAnnouncement, got: string, node: string, given: string): void {
  if (image.id !== undefined && got !== image.id) throw differentImage(node, given, got, image.id);
}

function isPinned(ref: string): boolean {
  const at = ref.lastIndexOf("@");
  return at > 0 && isDigest(ref.slice(at + 1));
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

function missingImage(node: string, given: string, why: string): UserError {
  return new UserError("image-missing", `${node} does not have the image ${given} (${why})`, {
    hint: `load it on every node (docker load), push it to a registry and name it there, or stage it ahead with \`srun srun-docker pull ${given}\``,
  });
}

/** `sha256:` and the 12 hex digits `docker images` shows. */
export function shortImageId(id: string): string {
  return `sha256:${short(id)}`;
}

/**
 * Every node built the tag itself (`srun docker build -t app .`): each build has its own ID,
 * and the job runs one image. Both ways out are named, and what each does to the node.
 */
function anotherBuild(node: string, given: string, ids: { there: string; job: string; master: string }): UserError {
  return new UserError(
    "image-another-build",
    `${node}'s ${given} is another build (${shortImageId(ids.there)} there, ${shortImageId(ids.job)} on ${ids.master})`,
    {
      hint: `--pull-once copies ${ids.master}'s build to the other nodes (their ${given} then names it, as docker pull would); --image-per-node runs each node's own build instead (risky: see the README)`,
    },
  );
}

function differentImage(node: string, given: string, got: string, want: string): UserError {
  return new UserError(
    "image-differs",
    `${node} has a different image for ${given} (${short(got)}) than the job runs (${short(want)})`,
    {
      hint: "run the same build on every node: push it to a registry and name it there, or load one archive on every node",
    },
  );
}
