// The image every node of a job runs. The master decides once (core/image-plan.ts:
// its own copy pinned to a digest or ID, or the registry's digest for the tag) and announces it
// through the rendezvous; every node then uses, pulls or loads exactly that image (or, with
// --pull-once, gets it from another node: image-relay.ts), reporting progress to the master's
// display. Pull time holds the readiness deadline (--pull-timeout bounds the pull itself).

import type { UserError } from "../../core/errors.js";
import type { LocalImage } from "../../core/image-inspect.js";
import { announceResolved, checkImageId, masterImageStep, nodeImageStep, shortImageId } from "../../core/image-plan.js";
import { type ImageReference, parseImageReference, parseImageSource } from "../../core/image-reference.js";
import type { PullFailure } from "../../core/pull-failure.js";
import { describePullFailure } from "../../core/pull-failure-message.js";
import { EMPTY_TALLY, snapshotOf, tallyEvent } from "../../core/pull-layer-tally.js";
import type { ImageAnnouncement } from "../../core/rendezvous-protocol.js";
import { readEngineCredentials } from "../../io/registry-credentials.js";
import {
  findOrFail,
  type ImageStepRun,
  type JobImage,
  jobImage,
  nameAsGiven,
  type PullReporter,
} from "./image-here.js";
import { fetchFromParent } from "./image-relay.js";

export type { ImageStepRun, JobImage, PullReporter } from "./image-here.js";

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
