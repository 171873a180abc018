// Generated from the imports of other folders: the way into commands/run/image/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { relaysImage, startNodeRelay } from "./image-relay.js";
export type { JobImage, PullReporter } from "./image-step.js";
export { decideJobImage } from "./image-step.js";
export { findGivenImage, settleJobImage } from "./job-image.js";
export { runPull } from "./pull.js";
