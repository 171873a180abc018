/**
 * When and how the image reaches the nodes (`--pull`, `--pull-once`, `--pull-timeout`,
 * `--image-per-node`): types
 * both the command line (cli) and the run's plans (core) speak.
 */

/** docker run's `--pull` words: pull when the image is missing, every time, or never. */
export type PullPolicy = "missing" | "always" | "never";

export const PULL_POLICIES: readonly PullPolicy[] = ["missing", "always", "never"];

export interface PullOptions {
  readonly policy: PullPolicy;
  /** One node pulls from the registry, the others get the image from it (not from the registry). */
  readonly once: boolean;
  /** How long the pull may take; it does not count against `--timeout`. */
  readonly timeoutSeconds: number;
  /**
   * `--image-per-node`: a node with its own image under the name runs it, whatever its ID (the
   * reference scripts' way); the others get the job's.
   */
  readonly perNode: boolean;
}

/** Generous: a multi-GB image over a slow link, not a hung registry forever. */
export const DEFAULT_PULL_TIMEOUT_SECONDS = 30 * 60;
/** A week: longer is a typo. */
export const MAX_PULL_TIMEOUT_SECONDS = 7 * 86_400;

export const DEFAULT_PULL_OPTIONS: PullOptions = {
  policy: "missing",
  once: false,
  timeoutSeconds: DEFAULT_PULL_TIMEOUT_SECONDS,
  perNode: false,
};
