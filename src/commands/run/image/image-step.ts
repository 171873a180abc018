// The image every node of a job runs. The master decides once (core/image/image-plan.ts:
// its own copy pinned to a digest or ID, or the registry's digest for the tag) and announces it
// through the rendezvous; every node then uses, pulls or loads exactly that image (or, with
// --pull-once, gets it from another node: fetchFromParent below; that node's relay server is in
// image-relay.ts), reporting progress to the master's display. Pull time holds the readiness
// deadline (--pull-timeout bounds the pull itself).

import { UserError } from "../../../core/common/index.js";
import type { LocalImage, NodePullSnapshot, PullFailure, PullOptions, PullSource } from "../../../core/image/index.js";
import {
  announceResolved,
  checkImageId,
  describePullFailure,
  EMPTY_TALLY,
  hasDigest,
  type ImageReference,
  masterImageStep,
  nodeImageStep,
  parseImageReference,
  parseImageSource,
  repositoryName,
  shortImageId,
  snapshotOf,
  tallyEvent,
} from "../../../core/image/index.js";
import type { ImageAnnouncement } from "../../../core/rendezvous/index.js";
import type { ImageEngine } from "../../../io/image/index.js";
import { withoutImageNames } from "../../../io/image/index.js";
import type { Logger } from "../../../io/process/index.js";
import { readEngineCredentials } from "../../../io/registry/index.js";
import { fetchFromRelay } from "../../../io/relay/index.js";
import type { RelaySource } from "../../../io/rendezvous/index.js";

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
  /** The image config's entrypoint, for `--container-entrypoint`. */
  readonly entrypoint: readonly string[] | undefined;
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
  return { id: local.id, runRef, path: local.path, entrypoint: local.entrypoint, size: local.size, announced };
}

function knowsPin(local: LocalImage, ref: string): boolean {
  const source = ref.includes("@") ? parseImageSource(ref) : undefined;
  if (source?.kind !== "registry" || source.ref.digest === undefined) return false;
  return hasDigest(local, source.ref, source.ref.digest);
}

/**
 * The master: decides, lets `announce` tell the workers, then gets the image here too. With
 * `pinId` (--pull-once) the announcement names the image ID, as a node loads from another only
 * an image it can check: a digest without a known ID is pulled here first, and announced after.
 */
export async function decideJobImage(
  run: ImageStepRun,
  announce: (image: ImageAnnouncement) => void,
  reporter: PullReporter,
  pinId = false,
): Promise<JobImage> {
  const source = parseImageSource(run.given);
  const here = await run.here;
  const step = masterImageStep(source, run.pull.policy, here, run.node, run.given);
  let announced: ImageAnnouncement;
  switch (step.kind) {
    case "announce":
      announced = step.image;
      break;
    case "resolve":
      announced = announceResolved(step.ref, { digest: await resolveTag(run, step.ref), id: undefined });
      break;
    case "load": {
      const id = await run.engine.load(step.path);
      announced = { ref: id, id, archive: step.path };
      break;
    }
  }
  const tell = (image: ImageAnnouncement): void => {
    run.log.debug(`image: every node runs ${image.ref}${image.id === undefined ? "" : ` (${image.id})`}`);
    announce(image);
  };
  if (pinId && announced.id === undefined) {
    const here = await fetchHere(run, announced, reporter);
    const pinned = { ...announced, id: here.id };
    tell(pinned);
    return { ...here, announced: pinned };
  }
  tell(announced);
  return fetchHere(run, announced, reporter);
}

/** Any node: the announced image, from what this node has, the registry, or the archive. */
export async function fetchHere(
  run: ImageStepRun,
  image: ImageAnnouncement,
  reporter: PullReporter,
): Promise<JobImage> {
  const given = await run.here;
  const here =
    given !== undefined && (image.id === undefined ? false : given.id === image.id)
      ? given
      : await run.engine.find(image.id ?? image.ref);
  // What the name the user gave is here, when it is another image than the job's.
  const tagged = given !== undefined && given.id !== here?.id ? given : undefined;
  const step = nodeImageStep(image, here, run.pull.policy, run.node, run.given, {
    fromPeer: run.relay !== undefined,
    tagged,
    perNode: run.pull.perNode,
    master: run.master,
  });
  switch (step.kind) {
    case "use":
      return jobImage(image, here as LocalImage);
    case "own":
      run.log.warn(
        `runs its own build of ${run.given} (${shortImageId(step.image.id)}), not ${run.master}'s (${shortImageId(image.id ?? "?")}): --image-per-node`,
      );
      return jobImage(image, step.image);
    case "load": {
      const id = await run.engine.load(step.path);
      checkImageId(image, id, run.node, run.given);
      return jobImage(image, await findOrFail(run, id));
    }
    case "pull":
      return pullAndCheck(run, image, step.ref, reporter);
    case "relay": {
      const { relay } = run;
      if (relay === undefined) throw new Error("internal error: a relay step without a relay; please report");
      const got = await fetchFromParent({ ...run, relay }, image, step.fallback, reporter, (ref, timeoutSeconds) =>
        pullAndCheck({ ...run, pull: { ...run.pull, timeoutSeconds } }, image, ref, reporter),
      );
      if (tagged !== undefined && image.id !== undefined)
        run.log.info(
          `${run.given} here now names ${run.master}'s build (${shortImageId(image.id)}), as docker pull would; this node's own (${shortImageId(tagged.id)}) no longer does`,
        );
      return got;
    }
  }
}

async function pullAndCheck(
  run: ImageStepRun,
  image: ImageAnnouncement,
  pinned: string,
  reporter: PullReporter,
): Promise<JobImage> {
  await pullHere(run, parseImageReference(pinned), reporter);
  const got = await findOrFail(run, pinned);
  checkImageId(image, got.id, run.node, run.given);
  await nameAsGiven(run, got.id);
  return jobImage(image, got);
}

async function pullHere(run: ImageStepRun, ref: ImageReference, reporter: PullReporter): Promise<void> {
  const { auth } = await readEngineCredentials(run.engine.bin, ref);
  const startedAt = Date.now();
  let tally = EMPTY_TALLY;
  reporter.started({ kind: "registry" });
  const result = await run.engine.pull(ref, auth, {
    timeoutMs: run.pull.timeoutSeconds * 1000,
    onEvent: (event) => {
      tally = tallyEvent(tally, event);
      reporter.progress(snapshotOf(tally));
    },
  });
  if (result.kind !== "pulled") {
    reporter.failed();
    const failure: PullFailure = result.kind === "failed" ? result.failure : { kind: "other", detail: "cancelled" };
    throw pullError(run, ref, failure);
  }
  const snapshot = snapshotOf(tally);
  reporter.finished(snapshot.bytesDone, Date.now() - startedAt);
}

async function resolveTag(run: ImageStepRun, ref: ImageReference): Promise<string> {
  const { auth } = await readEngineCredentials(run.engine.bin, ref);
  const result = await run.engine.resolve(ref, auth, {
    deadline: performance.now() + run.pull.timeoutSeconds * 1000,
    debug: (line) => run.log.debug(line),
  });
  if (result.kind === "resolved") return result.digest;
  throw pullError(run, ref, result.failure, result.attempts);
}

function pullError(run: ImageStepRun, ref: ImageReference, failure: PullFailure, attempts?: number): UserError {
  return describePullFailure(failure, run.node, {
    image: run.given,
    registry: ref.domain,
    repository: ref.path,
    reference: ref.digest ?? ref.tag ?? "latest",
    engine: run.engine.bin,
    timeoutSeconds: run.pull.timeoutSeconds,
    ...(attempts === undefined ? {} : { attempts }),
  });
}

/** A fallback from the registry: the pinned ref, with what is left of --pull-timeout. */
export type PullFallback = (ref: string, timeoutSeconds: number) => Promise<JobImage>;

/** The announced image from this node's parent; from the registry (`fallback`) should the parent fail it. */
export async function fetchFromParent(
  run: ImageStepRun & { relay: NonNullable<ImageStepRun["relay"]> },
  image: ImageAnnouncement,
  fallback: string | undefined,
  reporter: PullReporter,
  pullFallback: PullFallback,
): Promise<JobImage> {
  const startedAt = Date.now();
  const deadline = startedAt + run.pull.timeoutSeconds * 1000;
  const want = image.id;
  if (want === undefined) {
    // Nothing to check a parent's image against (core/image/image-plan.ts relays only a pinned ID).
    run.log.debug("the master pinned no image ID: pulling the image from the registry");
    return fromRegistry(run, fallback, "no image ID to check it by", pullFallback, deadline, reporter);
  }
  const source = await run.relay.source();
  if (source.port === undefined) {
    run.log.debug(`${source.node} has no image relay: pulling the image from the registry`);
    return fromRegistry(run, fallback, `${source.node} has no image relay`, pullFallback, deadline, reporter);
  }
  reporter.started({ kind: "peer", node: source.node });
  let total = 0;
  const result = await fetchFromRelay({
    host: source.node,
    port: source.port,
    secret: run.relay.secret,
    jobKey: run.relay.jobKey,
    node: run.node,
    want,
    load: async (archive) => {
      run.log.debug(run.engine.transfer.describe("load"));
      // Loaded without the archive's own names: the image is named (nameAsGiven) only once
      // its ID is the job's, so a parent cannot move a tag of this node's to another image.
      const loaded = await run.engine.transfer.loadFrom(withoutImageNames(archive));
      return loaded.startsWith("sha256:") ? loaded : (await findOrFail(run, loaded)).id;
    },
    deadlineMs: Math.max(1, deadline - Date.now()),
    onStart: (size) => {
      total = size ?? 0;
    },
    onProgress: (bytes) =>
      reporter.progress({ layers: 1, layersDone: 0, bytesDone: bytes, bytesTotal: Math.max(total, bytes) }),
  });
  if (result.ok) {
    const got = await findOrFail(run, result.id);
    checkImageId(image, got.id, run.node, run.given);
    await nameAsGiven(run, got.id);
    reporter.progress({ layers: 1, layersDone: 1, bytesDone: result.bytes, bytesTotal: result.bytes });
    reporter.finished(result.bytes, Date.now() - startedAt);
    return jobImage(image, got);
  }
  const why = `could not get the image from ${source.node} (${result.reason})`;
  run.log.debug(`${why}${fallback === undefined ? "" : ": pulling it from the registry instead"}`);
  return fromRegistry(run, fallback, why, pullFallback, deadline, reporter);
}

function fromRegistry(
  run: ImageStepRun,
  fallback: string | undefined,
  why: string,
  pullFallback: PullFallback,
  deadline: number,
  reporter: PullReporter,
): Promise<JobImage> {
  if (fallback === undefined) {
    reporter.failed();
    throw new UserError("relay-failed", `${run.node} ${why}, and ${run.given} is in no registry to pull it from`, {
      hint: "push it to a registry and name it there, or load it on every node (docker load)",
    });
  }
  return pullFallback(fallback, Math.max(1, Math.ceil((deadline - Date.now()) / 1000)));
}
