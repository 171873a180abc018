// The way into core/pyxis/ for the rest of the tree: Pyxis's option syntax (enroot image URIs,
// `--container-mounts`), read into what the engine's builders take.
export type { EnrootImage } from "./enroot-image.js";
export { parseEnrootImage } from "./enroot-image.js";
export { parseContainerMounts } from "./pyxis-mounts.js";
