// Generated from the imports of other folders: the way into core/common/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export type { GpuMode, GpuRuntime, Memlock, Remote, Runtime } from "./container-options.js";
export type { Deferred } from "./deferred.js";
export { deferred, NEVER } from "./deferred.js";
export {
  EXIT_TOOL_FAILURE,
  EXIT_USAGE,
  isErrno,
  isFirstTaskOfStep,
  renderUserError,
  SaidElsewhere,
  sayOncePerStep,
  UserError,
  usageError,
} from "./errors.js";
export { formatBytes, formatDuration, formatRate } from "./human-units.js";
export { parseJsonAs } from "./json-shape.js";
export type { NearMiss } from "./near-miss.js";
export { describeNearMiss, findNearMisses } from "./near-miss.js";
export type { BackoffPolicy } from "./retry-backoff.js";
export { nextRetryDelayMs, parseRetryAfter, REGISTRY_BACKOFF } from "./retry-backoff.js";
export { formatCommand } from "./shell-words.js";
export { hashString } from "./stable-hash.js";
