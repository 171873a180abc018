/**
 * `--container-name=NAME`: a container of the job rather than of one step. It is keyed like a
 * step's container (core/slurm/job-paths.ts's jobStepKey), with `name-NAME` in the step's
 * place, so its name, labels and job dir are a step's: `srun-docker exec --step=name-NAME`
 * enters it, the stale sweep keeps it while its job runs, and `clean` removes it after. The
 * first step that names it on a node creates it; a later step of the job execs into it.
 */
import { type ContainerSummary, TOOL_LABEL } from "../engine/index.js";

/** The name the user gave, on the container. */
export const NAME_LABEL = `${TOOL_LABEL}.name`;
/** The image it was created from, as the user named it (`--container`). */
export const IMAGE_LABEL = `${TOOL_LABEL}.image`;
/** The GPUs it was given (`all`, or a comma-separated list; empty for none). */
export const DEVICES_LABEL = `${TOOL_LABEL}.devices`;

/** Letters, digits, `_` and `-`: a path segment and a container name's part, never a `.r<N>` of a requeue. */
export const CONTAINER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** What stands for the step in the named container's jobStepKey. */
export function namedContainerStep(name: string): string {
  return `name-${name}`;
}

export type Devices = readonly string[] | "all";

export function namedLabels(name: string, image: string, devices: Devices): Record<string, string> {
  return {
    [NAME_LABEL]: name,
    [IMAGE_LABEL]: image,
    [DEVICES_LABEL]: devices === "all" ? "all" : devices.join(","),
  };
}

function devicesOf(label: string | undefined): Devices {
  if (label === "all") return "all";
  return label === undefined || label === "" ? [] : label.split(",");
}

export type NamedContainerChoice =
  | { readonly kind: "create" }
  | { readonly kind: "reuse"; readonly container: string; readonly devices: Devices }
  | { readonly kind: "mismatch"; readonly message: string; readonly hint: string };

export interface NamedContainerWanted {
  readonly name: string;
  /** `--container` as given. */
  readonly image: string;
  readonly node: string;
}

/**
 * Create or reuse, from what this node runs: `found` is the job's container of that name on
 * the node and whether it runs (a container that ended is on its way out through `--rm`).
 */
export function chooseNamedContainer(
  found: { readonly summary: ContainerSummary; readonly running: boolean } | undefined,
  wanted: NamedContainerWanted,
): NamedContainerChoice {
  if (found === undefined || !found.running) return { kind: "create" };
  const image = found.summary.labels[IMAGE_LABEL] ?? "";
  if (image !== wanted.image) {
    return {
      kind: "mismatch",
      message: `${wanted.node}: container \`${wanted.name}\` runs \`${image}\`, not \`${wanted.image}\``,
      hint: `give --container=${image} to run in it, or another --container-name for ${wanted.image}`,
    };
  }
  return { kind: "reuse", container: found.summary.name, devices: devicesOf(found.summary.labels[DEVICES_LABEL]) };
}

/** The dry run's line: what this step would do with the named container on this node. */
export function describeNamedChoice(choice: NamedContainerChoice, name: string, node: string): string {
  switch (choice.kind) {
    case "create":
      return `container \`${name}\` on ${node}: create (the job has none there yet); later steps reuse it`;
    case "reuse":
      return `container \`${name}\` on ${node}: reuse ${choice.container} (exec, no new container)`;
    case "mismatch":
      return `container \`${name}\` on ${node}: error: ${choice.message}`;
  }
}
