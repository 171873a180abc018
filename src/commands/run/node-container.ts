// This node's one container, driven through core/engine/container-lifecycle.ts: a removal asked for
// in any phase wins, waits for an engine `run` in flight, and nothing starts after it; an end
// we did not cause, once up, is a death (death-watch.ts). Its dead man's switch (a lifeline
// FIFO this process holds) ends the container if we die. Its state is the lifecycle's, each
// variant carrying what that phase holds here: what start() made, the server's wait, the
// removal in progress; nothing lives beside it.

import { deferred, NEVER, UserError } from "../../core/common/index.js";
import type { ContainerEnd } from "../../core/engine/index.js";
import {
  type ContainerEvent,
  type ContainerState,
  type EngineRun,
  nextContainerState,
  removalSteps,
} from "../../core/engine/index.js";
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

/**
 * What start() made, filled in as it goes and read by a removal that may come at any point of
 * it: one record per container, carried by every state from starting on.
 */
interface Made {
  readonly startedAtMs: number;
  /** Settles once start() is past the engine's `run` (or gave up before it). */
  readonly created: Promise<void>;
  /** Ends a `run` CLI that a removal cannot wait for any longer. */
  readonly runAbort: AbortController;
  /** The job files as written, first the plan's. */
  files: ContainerSetup["files"];
  lifeline: Lifeline | undefined;
  run: EngineRun;
}

/** The container's agent or sshd as start() waits for it (container-readiness.ts). */
interface Service {
  /** The wait; start() returns it only when the plan awaits the server before the job. */
  readonly wait: Promise<void>;
  /** Ends the wait when a removal comes first. */
  readonly readiness: AbortController;
  /** The port it answered on, once it did. */
  port: number | undefined;
  /** Why a wait start() did not await failed, while up (said by serviceFailure and throwIfServiceFailed). */
  error: unknown;
}

/**
 * The container's state (core/engine/container-lifecycle.ts) with what each phase holds here:
 * from starting on, what start() made; from up on, its server's wait; while removing, the
 * removal in progress (a second remove() joins it).
 */
type Holding =
  | { readonly phase: "idle" }
  | { readonly phase: "starting"; readonly made: Made }
  | { readonly phase: "up"; readonly made: Made; readonly service?: Service }
  | { readonly phase: "died"; readonly end: ContainerEnd; readonly made: Made; readonly service?: Service }
  | {
      readonly phase: "removing";
      readonly end?: ContainerEnd;
      readonly made?: Made;
      readonly service?: Service;
      readonly removal?: Promise<void>;
    }
  | { readonly phase: "removed"; readonly service?: Service };

export class NodeContainer {
  #state: Holding = { phase: "idle" };
  /** The watch for an end we did not cause, once up (death-watch.ts). */
  readonly deaths: DeathWatch;
  /** The job holds the lifeline now (handOff): the container is not this process's to remove. */
  private handedOff = false;

  constructor(
    private readonly runtime: ContainerEngine,
    private readonly plan: ContainerSetup,
    private readonly hold: (dir: string) => Promise<Lifeline> = holdLifeline,
  ) {
    this.deaths = new DeathWatch(runtime, plan.containerName, (end) => this.die(end));
  }

  /**
   * Writes the job files and starts the container; returns once it runs and, when the plan
   * awaits its server before the job (sshd), that server answers. A server not awaited (the
   * agent) is watched on: serviceFailure() rejects if it never answers.
   */
  async start(deadlineMs: number): Promise<void> {
    if (this.phase === "removing" || this.phase === "removed") throw cancelled();
    const created = deferred<void>();
    const made: Made = {
      startedAtMs: Date.now(),
      created: created.promise,
      runAbort: new AbortController(),
      files: this.plan.files,
      lifeline: undefined,
      run: "not-asked",
    };
    this.move("start", { made });
    try {
      await this.create(made);
    } finally {
      this.move("created");
      created.resolve();
    }
    // A removal asked for meanwhile wins: no wait for a server, and an awaited one is cancelled.
    const service = this.phase === "up" ? this.serve(made, deadlineMs) : undefined;
    const awaited = this.plan.remote?.awaitedBeforeJob !== false;
    if (service === undefined) {
      if (awaited) this.throwUnless("up");
      return;
    }
    if (awaited) return service.wait;
    service.wait.catch((error: unknown) => {
      if (this.phase === "up") service.error = error;
    });
  }

  /** Throws why the server not awaited by start() has failed already (then no script should start). */
  throwIfServiceFailed(): void {
    const error = this.service()?.error;
    if (error !== undefined) throw error;
  }

  /** Why the server start() did not await never answered; never settles otherwise, nor once removing. */
  serviceFailure(): Promise<never> {
    return this.serving().then(
      () => NEVER,
      (error: unknown) => (this.phase === "up" ? Promise.reject(error) : NEVER),
    );
  }

  /**
   * Brings the job files to `files` (the plan again, once every node's remote port is known),
   * writing only those that changed; the names written. Only between start() and the job.
   */
  async completeFiles(files: ContainerSetup["files"]): Promise<string[]> {
    const state = this.#state;
    if (state.phase !== "up") throw cancelled();
    const written = await rewriteJobFiles(this.plan.jobDir, state.made.files, files);
    state.made.files = files;
    return written;
  }

  /** The port its agent or sshd bound, once it answered there (after start() for sshd; maybe later for the agent). */
  remotePort(): number | undefined {
    return this.service()?.port;
  }

  /** That port once the server answers there; undefined if it never does (serviceFailure says why). */
  served(): Promise<number | undefined> {
    return this.serving().then(
      () => this.remotePort(),
      () => undefined,
    );
  }

  /** Whether the kernel killed something in it for memory (`settled`: nothing in it ended just now: no late event awaited). */
  outOfMemory(settled = false): Promise<boolean> {
    const state = this.#state;
    if (state.phase !== "up" && state.phase !== "died") return Promise.resolve(false);
    const { containerName } = this.plan;
    return this.runtime.outOfMemory(containerName, state.made.startedAtMs, settled || state.phase === "died");
  }

  /**
   * Gives the container to the job (`--container-name`): `script`, an orphaned sh, holds its
   * lifeline from now on (core/engine/dead-man-switch.ts's buildJobHolderScript), and remove()
   * leaves it. Only once it is up.
   */
  handOff(script: string, args: readonly string[]): void {
    const state = this.#state;
    if (state.phase !== "up" || state.made.lifeline === undefined) throw cancelled();
    this.deaths.stop();
    state.made.lifeline.handOff(script, args);
    this.handedOff = true;
  }

  /**
   * Removes the container until the engine confirms it gone, then the job files, then cuts the
   * lifeline. Idempotent while it succeeds; after a failure (thrown, naming the node) it retries.
   * A container handed to the job stays.
   */
  remove(): Promise<void> {
    const before = this.#state;
    if (before.phase === "removed" || this.handedOff) return Promise.resolve();
    if (before.phase === "removing" && before.removal !== undefined) return before.removal;
    this.move("remove");
    if ("service" in before) before.service?.readiness.abort(cancelled());
    this.deaths.stop();
    // Nothing was made, or a removal of nothing failed (it cannot): nothing to remove.
    if (before.phase === "idle" || before.made === undefined) return Promise.resolve();
    const removal = this.removeMade(before.made, before.phase === "starting");
    const state = this.#state;
    if (state.phase === "removing") this.#state = { ...state, removal };
    return removal;
  }

  private async removeMade(made: Made, starting: boolean): Promise<void> {
    // A `run` CLI hit by the step's SIGTERM may hang instead of exiting (seen with docker
    // 28's CLI); past this wait it is ended, and its container, if any, removed below.
    if (starting) await this.waitForRunOrEndIt(made);
    const steps = removalSteps(made.run);
    try {
      if (steps.remove) await this.runtime.remove([this.plan.containerName]);
      if (steps.awaitLateArrival) await this.runtime.removeLateArrival(this.plan.containerName, LATE_ARRIVAL_WINDOW_MS);
    } catch (error) {
      // The engine would not confirm: the switch ends the container by itself.
      made.lifeline?.cut();
      this.move("remove-failed");
      throw error;
    }
    this.move("removed");
    await removeJobDir(this.plan.jobDir).catch(() => undefined);
    // Cut last: a podman namespace watcher that wakes now finds the switch dir gone and
    // leaves at once, knowing the teardown was ours.
    made.lifeline?.cut();
  }

  private async waitForRunOrEndIt(made: Made): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RUN_WAIT_MS);
    });
    const returned = await Promise.race([made.created.then(() => true), late.then(() => false)]);
    clearTimeout(timer);
    if (!returned) made.runAbort.abort();
    await made.created;
  }

  private get phase(): ContainerState["phase"] {
    return this.#state.phase;
  }

  private service(): Service | undefined {
    return this.#state.phase === "idle" || this.#state.phase === "starting" ? undefined : this.#state.service;
  }

  /** The server's wait, or a settled one before there is any. */
  private serving(): Promise<void> {
    return this.service()?.wait ?? Promise.resolve();
  }

  /**
   * Moves to the next state, carrying what start() made and the server's wait into it (a
   * removal in progress stays with removing only); `made` enters with start.
   */
  private move(event: ContainerEvent, entering: { made?: Made } = {}): void {
    const before = this.#state;
    const next = nextContainerState(before, event);
    if (next === undefined)
      throw new Error(`internal error: container event ${JSON.stringify(event)} in ${this.phase} (please report)`);
    if (next === before) return;
    const made = entering.made ?? ("made" in before ? before.made : undefined);
    const service = "service" in before ? before.service : undefined;
    this.#state = {
      ...next,
      ...(made === undefined || next.phase === "removed" ? {} : { made }),
      ...(service === undefined ? {} : { service }),
    } as Holding;
  }

  /** A death seen while up moves to died; how it died, once it has (undefined while up or removing). */
  private die(end: ContainerEnd | undefined): ContainerEnd | undefined {
    if (end !== undefined && this.phase === "up") this.move({ died: end });
    return this.#state.phase === "died" ? this.#state.end : undefined;
  }

  private async create(made: Made): Promise<void> {
    this.throwUnless("starting");
    await writeJobFiles(this.plan.jobDir, made.files);
    made.lifeline = await this.hold(this.plan.switchDir);
    this.runtime.watchUserNamespace(made.lifeline.path, this.plan.switchDir);
    this.throwUnless("starting");
    made.run = "asked";
    try {
      await this.runtime.start(this.plan.runArgs, made.runAbort.signal);
    } catch (error) {
      // Killed by a signal, or failed while we were told to stop: the step's signal reached
      // the CLI too (newer docker CLIs catch SIGTERM, drop the request and exit non-zero).
      if ((error instanceof UserError && error.code === "start-interrupted") || this.phase !== "starting") {
        made.run = "interrupted";
      }
      throw error;
    }
  }

  /**
   * Starts the wait until sshd or the agent says its port and answers there
   * (container-readiness.ts); a removal ends it. None when the plan has no server.
   */
  private serve(made: Made, deadlineMs: number): Service | undefined {
    const remote = this.plan.remote;
    const lifeline = made.lifeline;
    const state = this.#state;
    if (remote === undefined || lifeline === undefined || state.phase !== "up") return undefined;
    const readiness = new AbortController();
    const target = { runtime: this.runtime, name: this.plan.containerName, remote, lifeline };
    const wait = waitForServer(target, deadlineMs, readiness).then(
      (port) => {
        service.port = port;
        this.throwUnless("up");
      },
      (error: unknown) => {
        this.throwUnless("up");
        throw error;
      },
    );
    const service: Service = { wait, readiness, port: undefined, error: undefined };
    this.#state = { ...state, service };
    return service;
  }

  /** A removal asked for meanwhile wins: nothing goes on past it. */
  private throwUnless(phase: "starting" | "up"): void {
    if (this.phase !== phase) throw cancelled();
  }
}
