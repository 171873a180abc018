// Generated from the imports of other folders: the way into io/image/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ImageEngine } from "./image-engine.js";
export { createImageEngine } from "./image-engine.js";
export type { ImageFiles } from "./image-files.js";
export { readImageFiles } from "./image-files.js";
export type { ImageTransfer } from "./image-transfer.js";
export { withoutImageNames } from "./unnamed-archive.js";
