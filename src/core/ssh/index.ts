// Generated from the imports of other folders: the way into core/ssh/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export {
  HOST_KEY_ALIAS,
  HOST_KEY_TYPES,
  renderLegacySshConfigBlock,
  renderLegacySshdConfig,
} from "./legacy-ssh-config.js";
export type { EntryKind, MaterialCheck, MaterialSet } from "./material-files.js";
export { checkMaterialFiles, MATERIAL_SETS, materialFileNames } from "./material-files.js";
export type { SshKeyPair } from "./openssh-key.js";
export { renderOpenSshEd25519 } from "./openssh-key.js";
export type { AgentNode, SshPlan } from "./ssh-argv.js";
export { planSshCall } from "./ssh-argv.js";
export {
  renderGroup,
  renderJobAuthorizedKeys,
  renderKnownHosts,
  renderPasswd,
  renderSshClientConfig,
  renderSshdConfig,
} from "./ssh-config.js";
