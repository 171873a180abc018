/**
 * What an engine says while it pulls, as typed events: dockerd's JSON-lines stream from
 * `POST /images/create` (`status`, `id`, `progressDetail{current,total}`, `error`/`errorDetail`)
 * and, in podman-pull-output.ts, podman's stderr. One model for both, so the progress a node
 * reports does not depend on its engine.
 */
export type LayerPhase =
  | "waiting"
  | "pulling"
  | "downloading"
  | "verifying"
  | "downloaded"
  | "extracting"
  | "done"
  | "already-exists"
  | "retrying";

export type PullStreamEvent =
  | {
      readonly kind: "layer";
      readonly id: string;
      readonly phase: LayerPhase;
      readonly current?: number;
      readonly total?: number;
    }
  /** Every layer is in: the engine writes the image (podman's "Writing manifest"). */
  | { readonly kind: "layers-complete" }
  | { readonly kind: "digest"; readonly digest: string }
  | { readonly kind: "up-to-date" }
  | { readonly kind: "status"; readonly text: string }
  | { readonly kind: "error"; readonly message: string };

/** dockerd's layer statuses (classic and containerd image stores say the same words). */
const DOCKER_PHASES: Readonly<Record<string, LayerPhase>> = {
  "Pulling fs layer": "pulling",
  Waiting: "waiting",
  Downloading: "downloading",
  "Verifying Checksum": "verifying",
  "Download complete": "downloaded",
  Extracting: "extracting",
  "Pull complete": "done",
  "Already exists": "already-exists",
};

/** One line of dockerd's pull stream; undefined for a blank or unreadable line. */
export function parseDockerPullLine(line: string): PullStreamEvent | undefined {
  if (line.trim() === "") return undefined;
  let message: { status?: unknown; id?: unknown; progressDetail?: unknown; error?: unknown; errorDetail?: unknown };
  try {
    message = JSON.parse(line) as typeof message;
  } catch {
    return undefined;
  }
  if (typeof message !== "object" || message === null) return undefined;
  const detail = message.errorDetail as { message?: unknown } | undefined;
  if (typeof detail?.message === "string") return { kind: "error", message: detail.message };
  if (typeof message.error === "string") return { kind: "error", message: message.error };
  if (typeof message.status !== "string") return undefined;
  const status = message.status;
  const digest = /^Digest: (\S+)$/.exec(status)?.[1];
  if (digest !== undefined) return { kind: "digest", digest };
  if (/^Status: Image is up to date/.test(status)) return { kind: "up-to-date" };
  const id = typeof message.id === "string" ? message.id : undefined;
  const phase = DOCKER_PHASES[status] ?? (/^Retrying in \d+ seconds?$/.test(status) ? "retrying" : undefined);
  if (id === undefined || phase === undefined)
    return { kind: "status", text: id === undefined ? status : `${status} ${id}` };
  const progress = message.progressDetail as { current?: unknown; total?: unknown } | undefined;
  const current = typeof progress?.current === "number" ? progress.current : undefined;
  const total = typeof progress?.total === "number" && progress.total > 0 ? progress.total : undefined;
  return {
    kind: "layer",
    id,
    phase,
    ...(current === undefined ? {} : { current }),
    ...(total === undefined ? {} : { total }),
  };
}

/** What a finished stream says: the digest the engine pulled, whether it had it already, its error. */
export interface PullStreamOutcome {
  readonly digest: string | undefined;
  readonly upToDate: boolean;
  readonly error: string | undefined;
}

export const EMPTY_OUTCOME: PullStreamOutcome = { digest: undefined, upToDate: false, error: undefined };

export function applyStreamEvent(outcome: PullStreamOutcome, event: PullStreamEvent): PullStreamOutcome {
  switch (event.kind) {
    case "digest":
      return { ...outcome, digest: event.digest };
    case "up-to-date":
      return { ...outcome, upToDate: true };
    case "error":
      return { ...outcome, error: outcome.error ?? event.message };
    default:
      return outcome;
  }
}
