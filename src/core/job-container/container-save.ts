/**
 * `--container-save=PATH`: a container's state as a `docker save` archive that
 * `--container=PATH` starts from. The container runs under the dead man's switch
 * (dead-man-switch.ts) as the user, in the job's directory, with srun-docker's labels: the
 * committed image gets its image's own entrypoint, command, working directory and user back,
 * and our labels blanked (a container started from it must not look like the saved job's).
 */

import { RESTART_LABEL, TOOL_LABEL } from "../engine/index.js";
import { DEVICES_LABEL, IMAGE_LABEL, NAME_LABEL } from "./named-container.js";

/** What an image's config says about how its containers run. */
export interface ImageRunConfig {
  readonly entrypoint: readonly string[] | null;
  readonly cmd: readonly string[] | null;
  readonly workdir: string;
  readonly user: string;
}

/** `image inspect --format '{{json .Config}}'`'s output (docker and podman alike). */
export function parseImageRunConfig(json: string): ImageRunConfig {
  const config = JSON.parse(json) as Record<string, unknown> | null;
  const words = (value: unknown) =>
    Array.isArray(value) && value.every((w) => typeof w === "string") ? (value as string[]) : null;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return {
    entrypoint: words(config?.Entrypoint),
    cmd: words(config?.Cmd),
    workdir: text(config?.WorkingDir),
    user: text(config?.User),
  };
}

/** Every label a run puts on its containers (names.ts, named-container.ts). */
const OUR_LABELS = [
  TOOL_LABEL,
  ...["version", "job", "step", "node", "uid", "user"].map((key) => `${TOOL_LABEL}.${key}`),
  RESTART_LABEL,
  NAME_LABEL,
  IMAGE_LABEL,
  DEVICES_LABEL,
];

/**
 * `commit` of `container` as `tag`, with the image's own way of running restored. An image
 * without an entrypoint gets `[""]`, which the engine runs as none: `commit` takes an empty
 * `ENTRYPOINT []` for "unchanged" and would keep the switch's `/bin/sh`.
 */
export function buildCommitArgs(container: string, tag: string, image: ImageRunConfig): string[] {
  const entrypoint = image.entrypoint === null || image.entrypoint.length === 0 ? [""] : image.entrypoint;
  const changes = [
    `ENTRYPOINT ${JSON.stringify(entrypoint)}`,
    `CMD ${JSON.stringify(image.cmd ?? [])}`,
    `WORKDIR ${image.workdir || "/"}`,
    `USER ${image.user || "root"}`,
    ...OUR_LABELS.map((label) => `LABEL ${label}=""`),
  ];
  return ["commit", ...changes.flatMap((change) => ["--change", change]), container, tag];
}

/** `save` of `tag` into `file` (a plain tar: `docker load` and `podman load` read it). */
export function buildSaveArgs(tag: string, file: string): string[] {
  return ["save", "-o", file, tag];
}

/** The tag the commit gets on the node for as long as the save takes. */
export function savedImageTag(jobStepKey: string): string {
  return `localhost/srun-docker-saved:${jobStepKey.replace(/[^A-Za-z0-9_.-]/g, "-")}`;
}

/** Saves go to a `.tar`: the name `--container=PATH` knows as an archive. */
export const SAVE_ARCHIVE_RE = /\.tar$/;
