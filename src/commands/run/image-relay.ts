// `--pull-once` on one node: its relay server (listening before the rendezvous opens, since its
// port goes in the hello; offering the image once this node has it), and its fetch from the node
// it gets the image from (core/relay-tree.ts), with the registry as the fallback when that node
// fails it (said with --debug): a parent that dies mid-stream costs this node a second fetch,
// not the job.
import { UserError } from "../../core/errors.js";
import { checkImageId } from "../../core/image-plan.js";
import type { ImageAnnouncement } from "../../core/rendezvous-protocol.js";
import type { ImageEngine } from "../../io/image-engine.js";
import type { Logger } from "../../io/log.js";
import { fetchFromRelay } from "../../io/relay-client.js";
import { type RelayServer, startRelayServer } from "../../io/relay-server.js";
import { withoutImageNames } from "../../io/unnamed-archive.js";
import {
  findOrFail,
  type ImageStepRun,
  type JobImage,
  jobImage,
  nameAsGiven,
  type PullReporter,
} from "./image-here.js";
import { messageOf } from "./link.js";

export interface NodeRelayInput {
  readonly once: boolean;
  /** The job's node count: a job of one node has nobody to serve. */
  readonly nodes: number;
  readonly candidates: readonly number[];
  readonly secret: Buffer;
  readonly jobKey: string;
  readonly engine: ImageEngine;
  readonly log: Logger;
}

/** Whether this job relays the image: the same answer on every node. */
export function relaysImage(once: boolean, nodes: number): boolean {
  return once && nodes > 1;
}

/**
 * This node's relay server; none when it cannot listen (every candidate port taken): then the
 * nodes that would get the image from this one pull it from the registry, and the job goes on.
 */
export async function startNodeRelay(input: NodeRelayInput): Promise<RelayServer | undefined> {
  if (!relaysImage(input.once, input.nodes)) return undefined;
  const { log } = input;
  return startRelayServer({
    candidates: input.candidates,
    secret: input.secret,
    jobKey: input.jobKey,
    transfer: {
      save: (id) => {
        log.debug(input.engine.transfer.describe("save", id));
        return input.engine.transfer.save(id);
      },
    },
    onEvent: (event) => {
      if (event.type === "served")
        log.debug(`relay: sent the image to ${event.node} (${event.bytes} bytes in ${Math.round(event.ms)} ms)`);
      else if (event.type === "dropped") {
        // A stranger's is counted in the summary below, not a line each.
        if (!event.stranger) log.debug(`relay: dropped ${event.remote}: ${event.reason}`);
      } else log.debug(`relay: told ${event.node} this node has no image to give`);
    },
    onRefusals: (summary) => log.debug(`relay: ${summary}`),
  }).catch((error: unknown) => {
    log.warn(`${messageOf(error)}: the nodes that get the image from this one (--pull-once) pull it from the registry`);
    return undefined;
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
    // Nothing to check a parent's image against (core/image-plan.ts relays only a pinned ID).
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
