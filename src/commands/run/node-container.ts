// This node's one container, driven through core/engine/container-lifecycle.ts: a removal asked for
// in any phase wins, waits for an engine `run` in flight, and nothing starts after it; an end
// we did not cause, once up, is a death (death-watch.ts). Its dead man's switch (a lifeline
// FIFO this process holds) ends the container if we die.

import { deferred, NEVER, UserError } from "../../core/common/index.js";
import type { ContainerEnd } from "../../core/engine/index.js";
import { type ContainerEvent, type ContainerState, nextContainerState } from "../../core/engine/index.js";
import type { NodePlan } from "../../core/plan/index.js";
import type { ContainerRuntime } from "../../io/container/index.js";
import { holdLifeline, type Lifeline } from "../../io/engine/index.js";
import { removeJobDir, rewriteJobFiles, writeJobFiles } from "../../io/files/index.js";
import { waitForServer } from "./container-readiness.js";
import { DeathWatch } from "./death-watch.js";

/** What the container needs of the engine: io's ContainerRuntime, or a test's fake. */
export type ContainerEngine = Pick<
  ContainerRuntime,
  | "node"
  | "bin"
  | "start"
  | "remove"
  | "removeLateArrival"
  | "waitStopped"
  | "lastLogLine"
  | "watchUserNamespace"
  | "outOfMemory"
  | "containerStates"
>;

/** What the container needs of the node's plan. */
export type ContainerSetup = Pick<NodePlan, "containerName" | "jobDir" | "runArgs" | "files" | "remote" | "switchDir">;

/** How long a killed `docker run`'s create may take to land: that container never started its switch, so it would stay. */
const LATE_ARRIVAL_WINDOW_MS = 1500;

/** How long a removal waits for an engine `run` in flight before ending its CLI. */
const RUN_WAIT_MS = 1000;

const cancelled = () => new UserError("cancelled", "the run was cancelled");

export class NodeContainer {
  private state: ContainerState = { phase: "idle" };
  /** Settles once start() is past the engine's `run` (or gave up before it). */
  private created: Promise<void> = Promise.resolve();
  private runIssued = false;
  /** The engine's `run` CLI was cut short: a container it asked for may still appear. */
  private runInterrupted = false;
  /** Ends a `run` CLI that a removal cannot wait for any longer. */
  private readonly runAbort = new AbortController();
  private lifeline: Lifeline | undefined;
  private readiness: AbortController | undefined;
  private removal: Promise<void> | undefined;
  private startedAtMs = Date.now();
  /** The wait for the server start() did not await (see serviceFailure). */
  private serving: Promise<void> = Promise.resolve();
  private serviceError: unknown;
  /** The port the container's agent or sshd said it listens on, once it answered there. */
  private servedPort: number | undefined;
  /** The job files as written, first the plan's. */
  private files: ContainerSetup["files"];
  /** The watch for an end we did not cause, once up (death-watch.ts). */
  readonly deaths: DeathWatch;
  /** The job holds the lifeline now (handOff): the container is not this process's to remove. */
  private handedOff = false;

  constructor(
    private readonly runtime: ContainerEngine,
    private readonly plan: ContainerSetup,
    private readonly hold: (dir: string) => Promise<Lifeline> = holdLifeline,
  ) {
    this.files = plan.files;
    this.deaths = new DeathWatch(runtime, plan.containerName, (end) => this.die(end));
  }

  /**
   * Writes the job files and starts the container; returns once it runs and, when the plan
   * awaits its server before the job (sshd), that server answers. A server not awaited (the
   * agent) is watched on: serviceFailure() rejects if it never answers.
   */
  async start(deadlineMs: number): Promise<void> {
    if (this.phase === "removing" || this.phase === "removed") throw cancelled();
    this.move("start");
    this.startedAtMs = Date.now();
    const created = deferred<void>();
    this.created = created.promise;
    try {
      await this.create();
    } finally {
      this.move("created");
      created.resolve();
    }
    const serving = this.waitUntilReady(deadlineMs);
    this.serving = serving;
    if (this.plan.remote?.awaitedBeforeJob !== false) return serving;
    serving.catch((error: unknown) => {
      if (this.phase === "up") this.serviceError = error;
    }); // said by serviceFailure() and throwIfServiceFailed()
  }

  /** Throws why the server not awaited by start() has failed already (then no script should start). */
  throwIfServiceFailed(): void {
    if (this.serviceError !== undefined) throw this.serviceError;
  }

  /** Why the server start() did not await never answered; never settles otherwise, nor once removing. */
  serviceFailure(): Promise<never> {
    return this.serving.then(
      () => NEVER,
      (error: unknown) => (this.phase === "up" ? Promise.reject(error) : NEVER),
    );
  }

  /**
   * Brings the job files to `files` (the plan again, once every node's remote port is known),
   * writing only those that changed; the names written. Only between start() and the job.
   */
  async completeFiles(files: ContainerSetup["files"]): Promise<string[]> {
    if (this.phase !== "up") throw cancelled();
    const written = await rewriteJobFiles(this.plan.jobDir, this.files, files);
    this.files = files;
    return written;
  }

  /** The port its agent or sshd bound, once it answered there (after start() for sshd; maybe later for the agent). */
  remotePort(): number | undefined {
    return this.servedPort;
  }

  /** That port once the server answers there; undefined if it never does (serviceFailure says why). */
  served(): Promise<number | undefined> {
    return this.serving.then(
      () => this.servedPort,
      () => undefined,
    );
  }

  /** Whether the kernel killed something in it for memory (`settled`: nothing in it ended just now: no late event awaited). */
  outOfMemory(settled = false): Promise<boolean> {
    if (this.phase !== "up" && this.phase !== "died") return Promise.resolve(false);
    return this.runtime.outOfMemory(this.plan.containerName, this.startedAtMs, settled || this.phase === "died");
  }

  /**
   * Gives the container to the job (`--container-name`): `script`, an orphaned sh, holds its
   * lifeline from now on (core/engine/dead-man-switch.ts's buildJobHolderScript), and remove()
   * leaves it. Only once it is up.
   */
  handOff(script: string, args: readonly string[]): void {
    if (this.phase !== "up" || this.lifeline === undefined) throw cancelled();
    this.deaths.stop();
    this.lifeline.handOff(script, args);
    this.handedOff = true;
  }

  /**
   * Removes the container until the engine confirms it gone, then the job files, then cuts the
   * lifeline. Idempotent while it succeeds; after a failure (thrown, naming the node) it retries.
   * A container handed to the job stays.
   */
  remove(): Promise<void> {
    if (this.phase === "removed" || this.handedOff) return Promise.resolve();
    if (this.phase === "removing" && this.removal !== undefined) return this.removal;
    const from = this.phase;
    this.move("remove");
    this.readiness?.abort(cancelled());
    this.deaths.stop();
    if (from === "idle") return Promise.resolve(); // nothing was made
    this.removal = (async () => {
      // A `run` CLI hit by the step's SIGTERM may hang instead of exiting (seen with docker
      // 28's CLI); past this wait it is ended, and its container, if any, removed below.
      if (from === "starting") await this.waitForRunOrEndIt();
      try {
        if (this.runIssued) await this.runtime.remove([this.plan.containerName]);
        if (this.runInterrupted) await this.runtime.removeLateArrival(this.plan.containerName, LATE_ARRIVAL_WINDOW_MS);
      } catch (error) {
        // The engine would not confirm: the switch ends the container by itself.
        this.lifeline?.cut();
        this.move("remove-failed");
        this.removal = undefined;
        throw error;
      }
      this.move("removed");
      await removeJobDir(this.plan.jobDir).catch(() => undefined);
      // Cut last: a podman namespace watcher that wakes now finds the switch dir gone and
      // leaves at once, knowing the teardown was ours.
      this.lifeline?.cut();
    })();
    return this.removal;
  }

  private async waitForRunOrEndIt(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RUN_WAIT_MS);
    });
    const returned = await Promise.race([this.created.then(() => true), late.then(() => false)]);
    clearTimeout(timer);
    if (!returned) this.runAbort.abort();
    await this.created;
  }

  private get phase(): ContainerState["phase"] {
    return this.state.phase;
  }

  private move(event: ContainerEvent): void {
    const next = nextContainerState(this.state, event);
    if (next === undefined)
      throw new Error(`internal error: container event ${JSON.stringify(event)} in ${this.phase} (please report)`);
    this.state = next;
  }

  /** A death seen while up moves to died; how it died, once it has (undefined while up or removing). */
  private die(end: ContainerEnd | undefined): ContainerEnd | undefined {
    if (end !== undefined && this.phase === "up") this.move({ died: end });
    return this.state.phase === "died" ? this.state.end : undefined;
  }

  private async create(): Promise<void> {
    this.throwUnless("starting");
    await writeJobFiles(this.plan.jobDir, this.files);
    this.lifeline = await this.hold(this.plan.switchDir);
    this.runtime.watchUserNamespace(this.lifeline.path, this.plan.switchDir);
    this.throwUnless("starting");
    this.runIssued = true;
    try {
      await this.runtime.start(this.plan.runArgs, this.runAbort.signal);
    } catch (error) {
      // Killed by a signal, or failed while we were told to stop: the step's signal reached
      // the CLI too (newer docker CLIs catch SIGTERM, drop the request and exit non-zero).
      this.runInterrupted =
        (error instanceof UserError && error.code === "start-interrupted") || this.phase !== "starting";
      throw error;
    }
  }

  /** Ready when sshd or the agent says its port and answers there (container-readiness.ts); removal ends the wait. */
  private async waitUntilReady(deadlineMs: number): Promise<void> {
    this.throwUnless("up");
    const remote = this.plan.remote;
    const lifeline = this.lifeline;
    if (remote === undefined || lifeline === undefined) return;
    const readiness = new AbortController();
    this.readiness = readiness;
    try {
      this.servedPort = await waitForServer(
        { runtime: this.runtime, name: this.plan.containerName, remote, lifeline },
        deadlineMs,
        readiness,
      );
    } catch (error) {
      this.throwUnless("up");
      throw error;
    } finally {
      this.readiness = undefined;
    }
    this.throwUnless("up");
  }

  /** A removal asked for meanwhile wins: nothing goes on past it. */
  private throwUnless(phase: "starting" | "up"): void {
    if (this.phase !== phase) throw cancelled();
  }
}
