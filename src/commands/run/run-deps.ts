// The edges a node's run touches, injected as one object with real defaults (concurrently's
// style), so tests drive whole runs with a fake engine, fake signals and a fake nvidia-smi.
import { hostname as osHostname } from "node:os";
import { isatty } from "node:tty";
import type { AgentProgram } from "../../core/agent/index.js";
import type { Runtime } from "../../core/common/index.js";
import { shouldCountGpus } from "../../core/limits/index.js";
import type { NodePlanOptions } from "../../core/plan/index.js";
import { findAgentProgram } from "../../io/agent/index.js";
import { ContainerRuntime, type ExecProcess } from "../../io/container/index.js";
import { defaultDockerApi, withDebugLog } from "../../io/engine/index.js";
import { type Identity, readIdentity } from "../../io/files/index.js";
import type { ImageEngine } from "../../io/image/index.js";
import { type CpuFacts, countNodeGpus, readCpuFacts } from "../../io/limits/index.js";
import { isPortFree } from "../../io/ports/index.js";
import type { Logger, SignalSource } from "../../io/process/index.js";
import { runCommand } from "../../io/process/index.js";
import { defaultMaterialDir } from "../../io/ssh/index.js";

/** The engine as a run uses it: io's ContainerRuntime, or a test's fake. */
export type RunRuntime = Pick<
  ContainerRuntime,
  | "bin"
  | "node"
  | "inspectImage"
  | "readImageFiles"
  | "start"
  | "remove"
  | "removeLateArrival"
  | "waitStopped"
  | "lastLogLine"
  | "signalProcess"
  | "outOfMemory"
  | "containerStates"
  | "imageEngine"
  | "exec"
  | "list"
  | "releaseUserNamespace"
  | "watchUserNamespace"
  | "saveContainer"
>;

/** The job script's process (the engine's `exec` on our stdio). */
export type ScriptProcess = ExecProcess;

interface TextSink {
  write(text: string): unknown;
  /** A terminal (the pull display redraws one line there). */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface RunDeps {
  env: NodeJS.ProcessEnv;
  cwd: string;
  hostname: string;
  signals: SignalSource;
  exit: (code: number) => never;
  /** Where the dry run prints its plan. */
  stdout: TextSink;
  /** This node's diagnostics (`[node1 master] ...`). */
  stderr: TextSink;
  /** The user's srun-docker directory (keys, rendezvous secret, job dirs). */
  materialDir: string;
  readIdentity: () => Promise<Identity>;
  /** nvidia-smi's GPU count; asked only when nothing else says (core's shouldCountGpus). */
  countGpus: () => Promise<number | undefined>;
  /** This task's CPU binding and the node's CPU count, for the container's limits. */
  readCpus: () => Promise<CpuFacts>;
  createRuntime: (bin: Runtime, node: string, log: Logger) => RunRuntime;
  /** The engine as the image step uses it (find, pull, load, transfer), through `runtime`'s CLI runner. */
  createImageEngine: (runtime: RunRuntime) => ImageEngine;
  /** This srun-docker, which `--remote=agent` mounts (io/agent/agent-binary.ts); undefined when none is found. */
  agentProgram: () => AgentProgram | undefined;
  /** Whether nobody holds the TCP port on this node (the job's ports fall back when not). */
  isPortFree: (port: number) => Promise<boolean>;
  /** Our stdin is a terminal (`srun --pty`): a task's program gets one in the container. */
  stdinIsTerminal?: boolean;
}

export function defaultRunDeps(): RunDeps {
  const env = process.env;
  return {
    env,
    cwd: process.cwd(),
    hostname: osHostname(),
    signals: process,
    exit: (code) => process.exit(code),
    stdout: process.stdout,
    stderr: process.stderr,
    materialDir: defaultMaterialDir(),
    readIdentity: () => readIdentity(),
    countGpus: () => countNodeGpus(),
    readCpus: () => readCpuFacts(),
    createRuntime: (bin, node, log) => {
      // --debug shows every engine command this node runs: a CLI's as the user could type it,
      // the Engine API's as the request it sends.
      const api = defaultDockerApi(bin, env);
      const run: typeof runCommand = (file, args, opts) => {
        log.debug(`$ ${file} ${args.join(" ")}`);
        return runCommand(file, args, opts);
      };
      return new ContainerRuntime(bin, node, run, undefined, undefined, api && withDebugLog(api, log));
    },
    createImageEngine: (runtime) => runtime.imageEngine(),
    agentProgram: () => findAgentProgram(),
    isPortFree: (port) => isPortFree(port),
    // isatty, not process.stdin: that would open a reader on the terminal the exec's CLI reads.
    stdinIsTerminal: isatty(0),
  };
}

/** nvidia-smi is asked only when nothing else says how many GPUs the node has (core/plan/node-plan.ts). */
export function countGpusIfUnknown(
  options: Pick<NodePlanOptions, "gpus">,
  deps: Pick<RunDeps, "env" | "countGpus">,
): Promise<number | undefined> {
  return shouldCountGpus(options, deps.env) ? deps.countGpus() : Promise.resolve(undefined);
}
