// `--pull-once` on one node: its relay server, listening before the rendezvous opens (its port
// goes in the hello) and offering the image once this node has it. The fetch from the node this
// one gets the image from is part of the image step (image-step.ts, fetchFromParent).
import type { ImageEngine } from "../../../io/image/index.js";
import type { Logger } from "../../../io/process/index.js";
import { type RelayServer, startRelayServer } from "../../../io/relay/index.js";
import { messageOf } from "../link.js";

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
