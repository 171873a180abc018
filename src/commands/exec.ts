// `srun-docker exec [-- COMMAND...]`: into a running job's container on this node, as the user,
// with a terminal when stdin is one (`srun --jobid=J --overlap -w node2 --pty srun-docker exec`),
// the command's exit code as ours. With no command, a shell (the one `srun --pty` gives).
// The command records its pid in the container's switch dir (mounted at /run/srun-docker), so
// that the step's end (scancel, srun's Ctrl-C) ends it too: `docker exec` leaves its process
// running when the client goes. The job's end removes the container, and everything in it.
import { readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { isatty } from "node:tty";
import type { ExecOptions } from "../cli/exec-options.js";
import { INTERACTIVE_SHELL } from "../cli/options.js";
import { buildDockerExecArgs, type ExecPlan, SWITCH_MOUNT } from "../core/engine/index.js";
import { jobDirPath } from "../core/slurm/index.js";
import { ContainerRuntime, findJobContainer } from "../io/container/index.js";
import { readIdentity } from "../io/files/index.js";
import { exitCodeForSignal, exitCodeOf, onTerminationSignals } from "../io/process/index.js";
import { defaultMaterialDir } from "../io/ssh/index.js";

/** Records the command's pid (in the container), then becomes the command. */
const PID_THEN_EXEC = 'echo $$ >"$0" && exec "$@"';

export async function runExec(options: ExecOptions, env = process.env): Promise<number> {
  const node = env.SLURMD_NODENAME || hostname().split(".")[0] || "this node";
  const runtime = new ContainerRuntime(options.runtime, node);
  const identity = await readIdentity();
  const user = { uid: identity.uid, gid: identity.gid };
  const container = await findJobContainer(runtime, identity.uid, {
    jobId: options.jobId,
    stepId: options.stepId,
    node,
  });
  const pidName = `exec-${process.pid}.pid`;
  const jobDir = jobDirPath(
    path.join(defaultMaterialDir(), "jobs"),
    `${options.jobId}.${container.stepId}`,
    container.node,
  );
  const pidFile = path.join(jobDir, "switch", pidName);
  const terminal = isatty(0);
  const plan: ExecPlan = {
    name: container.name,
    user,
    workdir: undefined,
    // The job's other variables are the job step's own (the container has no list of them).
    env: { SLURM_JOB_ID: options.jobId },
    command: ["/bin/sh", "-c", PID_THEN_EXEC, `${SWITCH_MOUNT}/${pidName}`, ...commandOf(options)],
    interactive: true,
    tty: terminal,
  };
  if (options.debug) process.stderr.write(`[${node}] $ ${options.runtime} ${buildDockerExecArgs(plan).join(" ")}\n`);
  let endedBy: NodeJS.Signals | undefined;
  const stop = onTerminationSignals((signal) => {
    endedBy = signal;
    void endCommand(runtime, container.name, user, pidFile, signal);
  });
  try {
    const code = exitCodeOf(await runtime.exec(plan).exit);
    return endedBy === undefined ? code : exitCodeForSignal(endedBy);
  } finally {
    stop();
    await rm(pidFile, { force: true }).catch(() => undefined);
  }
}

function commandOf(options: ExecOptions): readonly string[] {
  return options.command.length > 0 ? options.command : INTERACTIVE_SHELL;
}

async function endCommand(
  runtime: ContainerRuntime,
  name: string,
  user: { uid: number; gid: number },
  pidFile: string,
  signal: NodeJS.Signals,
): Promise<void> {
  const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim());
  if (Number.isInteger(pid) && pid > 0) await runtime.signalProcess(name, user, pid, signal).catch(() => undefined);
}
