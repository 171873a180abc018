// Generated from the imports of other folders: the way into io/ssh/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { createLegacySshConfigDir } from "./legacy-ssh-config.js";
export { findRealSsh, runRealSsh } from "./real-ssh.js";
export type { UserMaterial } from "./ssh-material.js";
export { defaultMaterialDir, ensureUserMaterial, readSecretIfMade, SECRET_BYTES } from "./ssh-material.js";
