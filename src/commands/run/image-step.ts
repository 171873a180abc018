// The image every node of a job runs (issue 12). The master decides once (core/image-plan.ts:
// its own copy pinned to a digest or ID, or the registry's digest for the tag) and announces it
// through the rendezvous; every node then uses, pulls or loads exactly that image, reporting
// progress to the master's display. Pull time holds the readiness deadline (--pull-timeout
// bounds the pull itself).

import { UserError } from "../../core/errors.js";
import type { LocalImage } from "../../core/image-inspect.js";
import { announceResolved, checkImageId, masterImageStep, nodeImageStep } from "../../core/image-plan.js";
import {
  type ImageReference,
  parseImageReference,
  parseImageSource,
  registryApiHost,
  repositoryName,
} from "../../core/image-reference.js";
import type { PullFailure } from "../../core/pull-failure.js";
import { describePullFailure } from "../../core/pull-failure-message.js";
import { EMPTY_TALLY, type NodePullSnapshot, snapshotOf, tallyEvent } from "../../core/pull-layer-tally.js";
import type { PullOptions } from "../../core/pull-options.js";
import type { ImageAnnouncement } from "../../core/rendezvous-protocol.js";
import type { ImageEngine } from "../../io/image-engine.js";
import type { Logger } from "../../io/log.js";
import { resolveImageDigest } from "../../io/registry-client.js";
import { readEngineCredentials } from "../../io/registry-credentials.js";
import { loadRegistryTrust } from "../../io/registry-tls.js";

export interface ImageStepRun {
  readonly node: string;
  /** `--container` as the user wrote it. */
  readonly given: string;
  readonly pull: PullOptions;
  readonly engine: ImageEngine;
  readonly log: Logger;
  /** What this node's engine has under `given`, asked at once when the run began. */
  readonly here: Promise<LocalImage | undefined>;
}

/** The image a node runs: its ID, what `run` names (a pinned reference where there is one), its PATH. */
export interface JobImage {
  readonly id: string;
  readonly runRef: string;
  readonly path: string | undefined;
  /** The announcement, for the summary (`IMG@sha256:…`). */
  readonly announced: ImageAnnouncement;
}

/** What a node reports while it fetches: the master feeds its display, a worker the rendezvous. */
export interface PullReporter {
  started(): void;
  progress(snapshot: NodePullSnapshot): void;
  finished(bytes: number, ms: number): void;
  failed(): void;
}

/** The master: decides, lets `announce` tell the workers, then gets the image here too. */
export async function decideJobImage(
  run: ImageStepRun,
  announce: (image: ImageAnnouncement) => void,
  reporter: PullReporter,
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
  run.log.debug(`image: every node runs ${announced.ref}${announced.id === undefined ? "" : ` (${announced.id})`}`);
  announce(announced);
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
  const step = nodeImageStep(image, here, run.pull.policy, run.node, run.given);
  switch (step.kind) {
    case "use":
      return jobImage(image, here as LocalImage);
    case "load": {
      const id = await run.engine.load(step.path);
      checkImageId(image, id, run.node, run.given);
      return jobImage(image, await findOrFail(run, id));
    }
    case "pull": {
      const ref = parseImageReference(step.ref);
      await pullHere(run, ref, reporter);
      const got = await findOrFail(run, step.ref);
      checkImageId(image, got.id, run.node, run.given);
      await nameAsGiven(run, got.id);
      return jobImage(image, got);
    }
  }
}

async function pullHere(run: ImageStepRun, ref: ImageReference, reporter: PullReporter): Promise<void> {
  const { auth } = await readEngineCredentials(run.engine.bin, ref);
  const startedAt = Date.now();
  let tally = EMPTY_TALLY;
  reporter.started();
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

/** A pull by digest names nothing: give the image the tag the user named, as `docker pull` would. */
async function nameAsGiven(run: ImageStepRun, id: string): Promise<void> {
  const source = parseImageSource(run.given);
  if (source.kind !== "registry" || source.ref.digest !== undefined) return;
  const repo = repositoryName(source.ref);
  await run.engine.tag(id, repo, source.ref.tag ?? "latest").catch((error: unknown) => {
    // Naming is a convenience for the next run; the job runs by digest either way.
    run.log.debug(`could not name ${id} ${repo}: ${error instanceof Error ? error.message : String(error)}`);
  });
}

async function resolveTag(run: ImageStepRun, ref: ImageReference): Promise<string> {
  const host = registryApiHost(ref);
  const [{ auth }, trust] = await Promise.all([
    readEngineCredentials(run.engine.bin, ref),
    loadRegistryTrust(host, { engine: run.engine.bin }),
  ]);
  const result = await resolveImageDigest(ref, {
    auth,
    trust,
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

async function findOrFail(run: ImageStepRun, name: string): Promise<LocalImage> {
  const image = await run.engine.find(name);
  if (image === undefined)
    throw new UserError("image-missing", `${run.node}: ${run.engine.bin} has no image ${name} after fetching it`);
  return image;
}

function jobImage(announced: ImageAnnouncement, local: LocalImage): JobImage {
  const pinned = announced.ref.includes("@") ? announced.ref : undefined;
  return { id: local.id, runRef: pinned ?? local.id, path: local.path, announced };
}
