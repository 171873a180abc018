/**
 * The command of one agent session as a child process: spawned in a process group of its own
 * (detached), so a forwarded signal reaches the whole pipeline `sh -c` started, as a terminal's
 * would; its pipes exposed with back-pressure both ways (output can be paused; each input chunk
 * reports when the command's pipe took it); its end reported once, after its
 * stdout and stderr reached their end (like sshd, output written by the command's last
 * background child still arrives); and `terminate()` for a client that went away.
 */
import { spawn as baseSpawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { AgentSpawnPlan, ExitStatus, ForwardableSignal } from "../../core/agent/index.js";
import type { Spawn } from "../process/index.js";
import { realTimers, type Timers } from "../process/index.js";
import { killSession, signalQuietly } from "./agent-session-processes.js";

export interface AgentProcessHandlers {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
  /** Called once: the command ended and its output is drained. */
  exited(status: ExitStatus): void;
}

export interface AgentProcess {
  readonly pid: number | undefined;
  /** `taken` runs once the command's stdin pipe took the chunk (or it was dropped: no reader). */
  writeStdin(chunk: Buffer, taken: () => void): void;
  endStdin(): void;
  /** To the command's process group. */
  signal(name: ForwardableSignal): void;
  pauseOutput(): void;
  resumeOutput(): void;
  /** Kills every process of the session (SIGHUP, grace, SIGKILL); resolves when none is left. */
  terminate(): Promise<void>;
}

export interface AgentProcessOptions {
  plan: AgentSpawnPlan;
  cwd: string;
  sessionId: string;
  /** Between SIGHUP and SIGKILL when the client went away. */
  killGraceMs: number;
  spawn?: Spawn;
  timers?: Timers;
  /** Finds the session's processes (io/agent/agent-session-processes.ts); tests may narrow it. */
  findSession?: (sessionId: string) => Promise<number[]>;
}

/** The code a command that could not be started ends with (ssh's own failure code). */
const EXIT_CANNOT_START = 255;

export function startAgentProcess(options: AgentProcessOptions, handlers: AgentProcessHandlers): AgentProcess {
  const { plan } = options;
  const spawn = options.spawn ?? baseSpawn;
  const child = spawn(plan.file, plan.args, {
    cwd: options.cwd,
    env: plan.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    ...(plan.argv0 === undefined ? {} : { argv0: plan.argv0 }),
  });
  return new SessionCommand(child, options, handlers);
}

/** The spawned command: whether its end was reported, its leader exited, its stdin is open. */
class SessionCommand implements AgentProcess {
  #reported = false;
  #leaderExited = false;
  #stdinOpen = true;
  #terminating: Promise<void> | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly options: AgentProcessOptions,
    private readonly handlers: AgentProcessHandlers,
  ) {
    child.stdout?.on("data", (chunk: Buffer) => handlers.stdout(chunk));
    child.stderr?.on("data", (chunk: Buffer) => handlers.stderr(chunk));
    // The command may exit (or close its stdin) without reading all its input: not an error.
    child.stdin?.on("error", () => {
      this.#stdinOpen = false;
    });
    child.on("exit", () => {
      this.#leaderExited = true;
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      this.#leaderExited = true;
      handlers.stderr(Buffer.from(`cannot start ${options.plan.file}: ${error.code ?? error.message}\n`));
      this.#report({ code: EXIT_CANNOT_START });
    });
    child.on("close", (code: number | null, signal: NodeJS.Signals | null) => {
      this.#leaderExited = true;
      if (code !== null) this.#report({ code });
      else if (signal !== null) this.#report({ signal: constants.signals[signal] ?? 9 });
      else this.#report({ code: EXIT_CANNOT_START });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  writeStdin(chunk: Buffer, taken: () => void): void {
    const stdin = this.child.stdin;
    if (this.#stdinOpen && stdin !== null && !stdin.destroyed) stdin.write(chunk, () => taken());
    else taken();
  }

  endStdin(): void {
    if (this.#stdinOpen) this.child.stdin?.end();
    this.#stdinOpen = false;
  }

  signal(name: ForwardableSignal): void {
    // Until the output ends, the group may outlive its leader (a pipeline's last stage).
    if (this.child.pid !== undefined && !this.#reported) signalQuietly(-this.child.pid, name);
  }

  pauseOutput(): void {
    this.child.stdout?.pause();
    this.child.stderr?.pause();
  }

  resumeOutput(): void {
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  terminate(): Promise<void> {
    const { child, options } = this;
    this.#terminating ??= killSession({
      sessionId: options.sessionId,
      groupId: child.pid,
      leaderExited: () => this.#leaderExited,
      graceMs: options.killGraceMs,
      timers: options.timers ?? realTimers,
      ...(options.findSession === undefined ? {} : { find: options.findSession }),
    }).finally(() => {
      // The pipes may be held open by nothing now; do not wait on them.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.stdin?.destroy();
    });
    return this.#terminating;
  }

  #report(status: ExitStatus): void {
    if (this.#reported) return;
    this.#reported = true;
    this.handlers.exited(status);
  }
}
