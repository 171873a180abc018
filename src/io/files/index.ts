// Generated from the imports of other folders: the way into io/files/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { tempPathBeside, writeFileAtomic } from "./atomic-file.js";
export { readConfigFiles } from "./config-files.js";
export type { Identity } from "./identity.js";
export { readIdentity } from "./identity.js";
export { removeJobDir, rewriteJobFiles, writeJobFiles } from "./job-files.js";
export { deriveJobKeys } from "./job-keys.js";
