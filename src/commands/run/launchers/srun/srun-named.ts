// `--container-name=NAME` with `--launcher=srun`: the job's container of that name on this node
// (core/job-container/named-container.ts). The first task of the first step that names it on the node
// creates it and hands its lifeline to the job (the holder of `asuser --daemon`), so that it
// ends when the job ends, not the step; every later step's tasks exec into it, as
// `srun-docker exec` does. The choice is made under a node lock: two steps starting at once on
// a node create it once. `--container-save`: the first node's container, saved after the step.
import path from "node:path";
import type { RunOptions } from "../../../../cli/options.js";
import { UserError } from "../../../../core/common/index.js";
import { buildContainerName, selectLabels } from "../../../../core/engine/index.js";
import {
  chooseNamedContainer,
  type NamedContainerChoice,
  namedContainerStep,
  savedImageTag,
} from "../../../../core/job-container/index.js";
import { type JobContext, jobDirPath, jobStepKey } from "../../../../core/slurm/index.js";
import type { Logger } from "../../../../io/process/index.js";
import type { RunRuntime } from "../../run-deps.js";

/** Where the job's container of that name lives on this node: its name and job dir, as planNode names them. */
export interface NamedPlace {
  readonly name: string;
  readonly image: string;
  readonly container: string;
  readonly jobDir: string;
  readonly switchDir: string;
}

export function namedPlace(
  options: Pick<RunOptions, "dockname" | "container">,
  name: string,
  ctx: JobContext,
  user: string,
  materialDir: string,
): NamedPlace {
  const keyed = { ...ctx, stepId: namedContainerStep(name), node: ctx.nodeName };
  const jobDir = jobDirPath(path.join(materialDir, "jobs"), jobStepKey(keyed), ctx.nodeName);
  return {
    name,
    image: options.container,
    container: buildContainerName({ dockname: options.dockname, user, ...keyed }),
    jobDir,
    switchDir: path.join(jobDir, "switch"),
  };
}

/** Create or reuse, from what the engine says of this node now. */
export async function chooseOnNode(
  runtime: Pick<RunRuntime, "list" | "containerStates">,
  uid: number,
  ctx: JobContext,
  place: NamedPlace,
): Promise<NamedContainerChoice> {
  const wanted = { name: place.name, image: place.image, node: ctx.nodeName };
  const listing = await runtime.list(selectLabels({ uid, jobId: ctx.jobId, stepId: namedContainerStep(place.name) }));
  const summary = listing.find((c) => c.name === place.container);
  if (summary === undefined) return chooseNamedContainer(undefined, wanted);
  const now = await runtime.containerStates().look(place.container);
  return chooseNamedContainer({ summary, running: now.kind === "running" }, wanted);
}

/** A choice that is an error, as the error users see (naming the node and both images). */
export function mismatchError(choice: Extract<NamedContainerChoice, { kind: "mismatch" }>): UserError {
  return new UserError("container-name", choice.message, { hint: choice.hint });
}

/**
 * `--container-save`: the first node's container, once its tasks are done, into the archive;
 * with several nodes, says that it was the first node's.
 */
export async function saveFirstNode(
  runtime: Pick<RunRuntime, "saveContainer">,
  ctx: JobContext,
  container: string,
  file: string,
  log: Logger,
): Promise<void> {
  const started = Date.now();
  await runtime.saveContainer(container, savedImageTag(jobStepKey(ctx)), file);
  const whose =
    ctx.nodes.length > 1 ? `${ctx.nodeName}'s container (the first of ${ctx.nodes.length} nodes)` : "the container";
  log.info(
    `saved ${whose} to ${file} in ${((Date.now() - started) / 1000).toFixed(1)} s: --container=${file} starts from it`,
  );
}
