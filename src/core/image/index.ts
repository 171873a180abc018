// Generated from the imports of other folders: the way into core/image/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ImageFacts } from "./image-facts.js";
export { IMAGE_FACTS_FORMAT, parseImageFacts } from "./image-facts.js";
export type { LocalImage } from "./image-inspect.js";
export { hasDigest, loadedName, parseImageInspect } from "./image-inspect.js";
export { announceResolved, checkImageId, masterImageStep, nodeImageStep, shortImageId } from "./image-plan.js";
export type { ImageReference } from "./image-reference.js";
export {
  canonicalString,
  credentialKey,
  isDigest,
  manifestReference,
  parseImageReference,
  parseImageSource,
  registryApiHost,
  repositoryName,
} from "./image-reference.js";
export { parsePodmanPullLine, podmanPulledId } from "./podman-pull-output.js";
export type { PullFailure } from "./pull-failure.js";
export { classifyEngineError, classifyNetworkError, classifyRegistryStatus, isRetryable } from "./pull-failure.js";
export { describePullFailure } from "./pull-failure-message.js";
export type { NodePullSnapshot } from "./pull-layer-tally.js";
export { EMPTY_TALLY, snapshotOf, tallyEvent } from "./pull-layer-tally.js";
export type { PullOptions } from "./pull-options.js";
export {
  DEFAULT_PULL_OPTIONS,
  DEFAULT_PULL_TIMEOUT_SECONDS,
  MAX_PULL_TIMEOUT_SECONDS,
  PULL_POLICIES,
} from "./pull-options.js";
export type { PullProgress, PullProgressEvent, PullSource } from "./pull-progress.js";
export {
  applyPullProgress,
  nextPullLine,
  renderPresentSummary,
  renderPullBar,
  renderPullSummary,
  startPullProgress,
} from "./pull-progress.js";
export type { PullStreamEvent } from "./pull-stream.js";
export { applyStreamEvent, EMPTY_OUTCOME, parseDockerPullLine } from "./pull-stream.js";
export type { AuthFile, RegistryAuth } from "./registry-auth.js";
export {
  ANONYMOUS,
  decodeAuthEntry,
  dockerConfigPath,
  dockerHelperFor,
  findDockerAuthEntry,
  findPodmanAuthEntry,
  isHelperNotFound,
  parseAuthFile,
  parseHelperAnswer,
  podmanAuthFiles,
  registryAuthHeader,
} from "./registry-auth.js";
export type { AuthChallenge } from "./registry-challenge.js";
export { parseAuthChallenges, readToken, refreshTokenForm, tokenRequestUrl } from "./registry-challenge.js";
export {
  isSchema1,
  MANIFEST_ACCEPT,
  manifestPath,
  mediaTypeOf,
  readDistributionDescriptor,
  schema1Failure,
} from "./registry-manifest.js";
