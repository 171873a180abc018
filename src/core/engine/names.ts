/**
 * Container names and labels. Every container is labelled (tool, version, job, step, node,
 * uid, user) so teardown and `clean` select by label and never touch another job's
 * containers or another user's (ARCHITECTURE.md, "Safety nets").
 */
import { jobStepKey } from "../slurm/index.js";

export const TOOL_LABEL = "srun-docker";

export interface ContainerIdentity {
  readonly dockname: string | undefined;
  readonly user: string;
  readonly jobId: string;
  readonly stepId: string;
  /** The job's requeued runs before this one (SLURM_RESTART_COUNT). */
  readonly restartCount?: number;
  readonly node: string;
}

/**
 * `<dockname or srun-docker-USER>-<job>.<step>[.r<restart>]-<node>` (core/slurm/job-paths.ts's
 * jobStepKey), made valid for docker and podman: a requeued run's never collides with a
 * container its first run left.
 */
export function buildContainerName(identity: ContainerIdentity): string {
  const prefix = identity.dockname ?? `srun-docker-${identity.user}`;
  return sanitizeContainerName(`${prefix}-${jobStepKey(identity)}-${identity.node}`);
}

/** Docker accepts `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; anything else becomes `-`. */
export function sanitizeContainerName(name: string): string {
  const body = name.replace(/[^a-zA-Z0-9_.-]/g, "-");
  const valid = /^[a-zA-Z0-9]/.test(body) ? body : `x${body}`;
  return valid.length >= 2 ? valid : `${valid}-`;
}

export interface LabelInput {
  readonly version: string;
  readonly jobId: string;
  readonly stepId: string;
  readonly restartCount?: number;
  readonly node: string;
  readonly uid: number;
  readonly user: string;
}

/** The label of the job's run (SLURM_RESTART_COUNT), on a requeued run's containers only. */
export const RESTART_LABEL = `${TOOL_LABEL}.restart`;

export function buildLabels(input: LabelInput): Record<string, string> {
  const restart = input.restartCount ? { [RESTART_LABEL]: String(input.restartCount) } : {};
  return {
    [TOOL_LABEL]: "1",
    [`${TOOL_LABEL}.version`]: input.version,
    [`${TOOL_LABEL}.job`]: input.jobId,
    [`${TOOL_LABEL}.step`]: input.stepId,
    [`${TOOL_LABEL}.node`]: input.node,
    [`${TOOL_LABEL}.uid`]: String(input.uid),
    [`${TOOL_LABEL}.user`]: input.user,
    ...restart,
  };
}

/** Labels selecting a user's containers: all of them, or one job's (optionally one step's). */
export function selectLabels(selection: {
  uid: number;
  jobId?: string | undefined;
  stepId?: string | undefined;
}): Record<string, string> {
  const labels: Record<string, string> = { [TOOL_LABEL]: "1", [`${TOOL_LABEL}.uid`]: String(selection.uid) };
  if (selection.jobId !== undefined) labels[`${TOOL_LABEL}.job`] = selection.jobId;
  if (selection.stepId !== undefined) labels[`${TOOL_LABEL}.step`] = selection.stepId;
  return labels;
}
