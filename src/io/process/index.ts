// Generated from the imports of other folders: the way into io/process/ for the rest of the tree.
// A name is here because a file outside this folder imports it; other folders import it from here.

export type { ExitInfo, RunCommandOptions, RunCommandResult, Spawn } from "./exec.js";
export { endChild, runCommand, spawnInherit, spawnOrphan } from "./exec.js";
export type { Logger } from "./log.js";
export { createLogger, PhaseTimer } from "./log.js";
export type { SignalSource } from "./signals.js";
export { exitCodeForSignal, exitCodeOf, onTerminationSignals, onUserSignals } from "./signals.js";
export type { Timers } from "./timers.js";
export { formatSeconds, realTimers, sleep } from "./timers.js";
