// Generated from the imports of other folders: the way into io/rendezvous/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { RendezvousMaster, WorkerExited, WorkerLost } from "./rendezvous-master.js";
export { startRendezvousMaster } from "./rendezvous-master.js";
export type { WorkerOutcome } from "./rendezvous-worker.js";
export { connectRendezvousWorker } from "./rendezvous-worker.js";
export type { RelaySource, RendezvousWorkerSession } from "./rendezvous-worker-session.js";
