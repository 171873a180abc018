// What the image step's parts share (commands/run/image-step.ts, image-relay.ts): the run's
// view of one node's image step, what it ends with, how a node reports its fetch, and what is
// done once the engine has the image (find it, name it as the user did).
import { UserError } from "../../core/errors.js";
import { hasDigest, type LocalImage } from "../../core/image-inspect.js";
import { parseImageSource, repositoryName } from "../../core/image-reference.js";
import type { NodePullSnapshot } from "../../core/pull-layer-tally.js";
import type { PullOptions } from "../../core/pull-options.js";
import type { PullSource } from "../../core/pull-progress.js";
import type { ImageAnnouncement } from "../../core/rendezvous-protocol.js";
import type { ImageEngine } from "../../io/image-engine.js";
import type { Logger } from "../../io/log.js";
import type { RelaySource } from "../../io/rendezvous-worker-session.js";

export interface ImageStepRun {
  readonly node: string;
  /** The node that decides the job's image (the master), for messages. */
  readonly master: string;
  /** `--container` as the user wrote it. */
  readonly given: string;
  readonly pull: PullOptions;
  readonly engine: ImageEngine;
  readonly log: Logger;
  /** What this node's engine has under `given`, asked at once when the run began. */
  readonly here: Promise<LocalImage | undefined>;
  /** `--pull-once` on a node with a node to get the image from (every node but the master). */
  readonly relay?: RelayFetch | undefined;
}

/** How a worker gets the image from its parent's relay (`--pull-once`). */
export interface RelayFetch {
  /** The parent and its relay's port, as the master says once the parent joined; rejects when the job ended first. */
  readonly source: () => Promise<RelaySource>;
  readonly secret: Buffer;
  /** `${jobId}.${stepId}`. */
  readonly jobKey: string;
}

/** The image a node runs: its ID, what `run` names (a pinned reference where there is one), its PATH. */
export interface JobImage {
  readonly id: string;
  readonly runRef: string;
  readonly path: string | undefined;
  /** Its size unpacked, when the engine says (what this node's relay tells its children). */
  readonly size: number | undefined;
  /** The announcement, for the summary (`IMG@sha256:…`). */
  readonly announced: ImageAnnouncement;
}

/** What a node reports while it fetches: the master feeds its display, a worker the rendezvous. */
export interface PullReporter {
  /** Begins (or begins again, from the registry after its parent failed it). */
  started(source: PullSource): void;
  progress(snapshot: NodePullSnapshot): void;
  finished(bytes: number, ms: number): void;
  failed(): void;
}

/** A pull by digest, or a load from a relay, names nothing: give the image the tag the user named, as `docker pull` would. */
export async function nameAsGiven(run: ImageStepRun, id: string): Promise<void> {
  const source = parseImageSource(run.given);
  if (source.kind !== "registry" || source.ref.digest !== undefined) return;
  const repo = repositoryName(source.ref);
  await run.engine.tag(id, repo, source.ref.tag ?? "latest").catch((error: unknown) => {
    // Naming is a convenience for the next run; the job runs by digest or ID either way.
    run.log.debug(`could not name ${id} ${repo}: ${error instanceof Error ? error.message : String(error)}`);
  });
}

export async function findOrFail(run: ImageStepRun, name: string): Promise<LocalImage> {
  const image = await run.engine.find(name);
  if (image === undefined)
    throw new UserError("image-missing", `${run.node}: ${run.engine.bin} has no image ${name} after fetching it`);
  return image;
}

/**
 * `run` names the image by the pinned `repo@digest` only where this engine knows the image by
 * it; one that came from a relay, an archive or a build knows no registry digest, and by
 * `repo@digest` the engine would go and pull it again: such a copy runs by its ID.
 */
export function jobImage(announced: ImageAnnouncement, local: LocalImage): JobImage {
  const runRef = knowsPin(local, announced.ref) ? announced.ref : local.id;
  return { id: local.id, runRef, path: local.path, size: local.size, announced };
}

function knowsPin(local: LocalImage, ref: string): boolean {
  const source = ref.includes("@") ? parseImageSource(ref) : undefined;
  if (source?.kind !== "registry" || source.ref.digest === undefined) return false;
  return hasDigest(local, source.ref, source.ref.digest);
}
