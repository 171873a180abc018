/**
 * Which of a job's containers on this node to enter (`srun-docker exec`, and whatever else
 * needs "the job's container here"): pure, from the engine's listing by label (core/engine/names.ts).
 * One container is the answer; none, or one per step with no step chosen, is said in one line
 * with the way out.
 */

import { type ContainerSummary, TOOL_LABEL } from "../engine/index.js";

export interface ContainerWanted {
  readonly jobId: string;
  /** `--step`: only that step's container; undefined = the job's only one. */
  readonly stepId: string | undefined;
  /** For messages: this node's name. */
  readonly node: string;
}

export type ContainerChoice =
  | { readonly kind: "chosen"; readonly name: string; readonly stepId: string }
  | { readonly kind: "none" | "ambiguous"; readonly message: string; readonly hint: string };

const STEP = `${TOOL_LABEL}.step`;
const JOB = `${TOOL_LABEL}.job`;

export function chooseJobContainer(listing: readonly ContainerSummary[], wanted: ContainerWanted): ContainerChoice {
  const { jobId, stepId, node } = wanted;
  const ofJob = listing.filter((c) => c.labels[JOB] === jobId);
  const candidates = stepId === undefined ? ofJob : ofJob.filter((c) => c.labels[STEP] === stepId);
  const [only] = candidates;
  if (candidates.length === 1 && only !== undefined) {
    return { kind: "chosen", name: only.name, stepId: only.labels[STEP] ?? "?" };
  }
  if (candidates.length === 0) return none(ofJob, wanted);
  const steps = candidates.map(describe).join(", ");
  return {
    kind: "ambiguous",
    message: `job ${jobId} has ${candidates.length} containers on ${node}: ${steps}`,
    hint: `choose one with --step, e.g. srun-docker exec --step=${candidates[0]?.labels[STEP] ?? "0"}`,
  };
}

function none(ofJob: readonly ContainerSummary[], wanted: ContainerWanted): ContainerChoice {
  const { jobId, stepId, node } = wanted;
  if (stepId !== undefined && ofJob.length > 0) {
    return {
      kind: "none",
      message: `job ${jobId} has no container of step ${stepId} on ${node}, only ${ofJob.map(describe).join(", ")}`,
      hint: `choose one of those with --step, or leave --step out when there is one`,
    };
  }
  return {
    kind: "none",
    message: `job ${jobId} has no container of yours on ${node}${stepId === undefined ? "" : ` for step ${stepId}`}`,
    hint: `run it on a node of the job while it runs: srun --jobid=${jobId} --overlap -w NODE --pty srun-docker exec`,
  };
}

function describe(container: ContainerSummary): string {
  return `step ${container.labels[STEP] ?? "?"} (${container.name})`;
}
