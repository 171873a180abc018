// The job script, started so that Slurm's checkpoint requests reach it: SIGUSR1 and SIGUSR2
// that come to this node's srun-docker while the script runs go on to the script's process
// group in the container (core/engine/script-pid.ts), which decides what they mean (a trap that saves
// a checkpoint). Before the script has recorded its pid there is nobody ready for them, and
// after it exits nobody left: then they are only logged.
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { SCRIPT_PID_FILE } from "../../core/engine/index.js";
import type { NodePlan } from "../../core/plan/index.js";
import type { Logger } from "../../io/process/index.js";
import { onUserSignals } from "../../io/process/index.js";
import type { RunRuntime, ScriptProcess } from "./run-deps.js";

export function startScriptPassingSignals(
  runtime: Pick<RunRuntime, "exec" | "signalProcess">,
  plan: Pick<NodePlan, "exec" | "switchDir">,
  log: Logger,
): ScriptProcess {
  const pidFile = path.join(plan.switchDir, SCRIPT_PID_FILE);
  // A pid left by an earlier run of this step (a requeued job) is another process's.
  const exit = rm(pidFile, { force: true })
    .catch(() => undefined)
    .then(() => runtime.exec(plan.exec).exit);
  let running = true;
  const stop = onUserSignals((signal) => {
    void passOn(signal).catch((error: unknown) => log.debug(`${signal} not passed on: ${String(error)}`));
  });
  async function passOn(signal: string): Promise<void> {
    const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
    const { user } = plan.exec;
    if (!running || !Number.isInteger(pid) || pid <= 0 || user === undefined) {
      log.info(`${signal} received while no job script runs here: not passed on`);
      return;
    }
    await runtime.signalProcess(plan.exec.name, user, -pid, signal);
    log.debug(`${signal} passed on to the job script's process group`);
  }
  const done = (): void => {
    running = false;
    stop();
  };
  void exit.then(done, done);
  return { exit };
}
