// Generated from the imports of other folders: the way into io/slurm-relay/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { EXIT_RELAY_FAILURE, runSlurmCommand } from "./slurm-relay-client.js";
export type { SlurmRelay } from "./slurm-relay-server.js";
export { startSlurmRelay, unservablePath } from "./slurm-relay-server.js";
