// Generated from the imports of other folders: the way into commands/run/launchers/ssh/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { runMaster } from "./master.js";
export { runWorker } from "./worker.js";
