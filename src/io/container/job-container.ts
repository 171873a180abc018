/**
 * "The job's container on this node", found through the engine: the user's containers of the
 * job, by label (core/engine/names.ts), chosen by core/job-container/job-container-choice.ts. `srun-docker exec`
 * enters it; anything else that must reach a running job's container starts here.
 */

import { UserError } from "../../core/common/index.js";
import { selectLabels, TOOL_LABEL } from "../../core/engine/index.js";
import { type ContainerWanted, chooseJobContainer } from "../../core/job-container/index.js";
import type { ContainerRuntime } from "./container-runtime.js";

export interface JobContainer {
  readonly name: string;
  readonly stepId: string;
  /** The node's name as the run recorded it (its job dir is named after it). */
  readonly node: string;
}

/** Throws the choice's own line: exit 2 when the user must choose (`--step`), 1 when there is none. */
export async function findJobContainer(
  runtime: Pick<ContainerRuntime, "list">,
  uid: number,
  wanted: ContainerWanted,
): Promise<JobContainer> {
  const listing = await runtime.list(selectLabels({ uid, jobId: wanted.jobId }));
  const choice = chooseJobContainer(listing, wanted);
  if (choice.kind !== "chosen") {
    throw new UserError("exec", choice.message, { hint: choice.hint, exitCode: choice.kind === "ambiguous" ? 2 : 1 });
  }
  const labels = listing.find((c) => c.name === choice.name)?.labels ?? {};
  return { name: choice.name, stepId: choice.stepId, node: labels[`${TOOL_LABEL}.node`] ?? wanted.node };
}
