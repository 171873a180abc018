// Generated from the imports of other folders: the way into commands/run/launchers/srun/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.
export { runSrunTask } from "./srun-task.js";
