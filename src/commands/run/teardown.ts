// One teardown path for every launcher (ssh, each, srun) and `pull`, for every signal and every
// way out. What happens on scancel: Slurm sends SIGTERM (Ctrl-C on srun: SIGINT; a lost
// terminal: SIGHUP) to every task, and SIGKILL KillWait seconds later (as few as 5). On the
// first of them, in this order:
//   1. the program this task runs is passed the signal (srun launcher);
//   2. this node's container is removed, from our own process: its end ends every program in it,
//      and it must be gone before the SIGKILL;
//   3. the other nodes are told (the rendezvous, a worker's session), which may wait for a slow
//      peer and so comes after the container;
//   4. ssh, each and pull exit 128+n; srun tasks return through their main path, which ends as
//      soon as their program does (the node's tasks still tell each other they are done).
// Later signals are swallowed, so Node's default (exit at once) cannot cut this short.
// Every path out, done, failed or cancelled, then runs `finish`: the container removed (again;
// removal is confirmed and idempotent) beside the stale sweep, the relays closed, rootless
// podman's user namespace released, the signal's teardown awaited, the signals let go.
import type { Logger } from "../../io/process/index.js";
import { exitCodeForSignal, onTerminationSignals, type SignalSource } from "../../io/process/index.js";
import { messageOf } from "./link.js";

export interface TeardownOptions {
  log: Logger;
  signals: SignalSource;
  /** Ends the process once the signal's teardown is over; without it the main path returns. */
  exit?: (code: number) => void;
  /** The node's engine, when this task owns the node's container. */
  runtime?: {
    /** Rootless podman keeps a pause process per user and node that Slurm would not end. */
    releaseUserNamespace(): Promise<void>;
  };
}

interface Removable {
  remove(): Promise<void>;
}

interface Signallable {
  signal(signal: NodeJS.Signals): Promise<void>;
}

export class Teardown {
  #cancelledBy: NodeJS.Signals | undefined;
  #program: Signallable | undefined;
  #container: Removable | undefined;
  readonly #tellOthers: Array<() => Promise<void>> = [];
  #relay: { close(): void } | undefined;
  #slurmRelay: { close(): Promise<void> } | undefined;
  #sweep: (() => Promise<void> | undefined) | undefined;
  #cancelling: Promise<void> | undefined;
  #finished: Promise<void> | undefined;
  readonly #unsubscribe: () => void;

  /** `saying`: said on the first signal (`SIGTERM received: tearing down`); none for srun tasks, whose every task would say it. */
  constructor(
    private readonly options: TeardownOptions,
    private readonly saying?: string,
  ) {
    this.#unsubscribe = onTerminationSignals((signal) => this.#onSignal(signal), options.signals);
  }

  /** The signal that ended the run, if one did. */
  get cancelledBy(): NodeJS.Signals | undefined {
    return this.#cancelledBy;
  }

  /** A script that ended because we removed its container on a signal did not succeed: 128+n. */
  exitCode(code: number): number {
    return this.#cancelledBy === undefined ? code : exitCodeForSignal(this.#cancelledBy);
  }

  program(program: Signallable): void {
    this.#program = program;
  }

  /** A signal that came while we prepared found no container to remove: none may start now. */
  container(container: Removable): void {
    this.#container = container;
    if (this.#cancelledBy !== undefined) void this.removeContainer();
  }

  tellOthers(action: () => Promise<void>): void {
    this.#tellOthers.push(action);
  }

  relay(relay: { close(): void } | undefined): void {
    this.#relay = relay;
  }

  /** The node's Slurm relay: closed once the container is gone, whatever ended the run. */
  slurmRelay(relay: { close(): Promise<void> } | undefined): void {
    this.#slurmRelay = relay;
  }

  /** What removes killed runs' leftovers: awaited on the way out if it was started. */
  sweep(started: () => Promise<void> | undefined): void {
    this.#sweep = started;
  }

  #onSignal(signal: NodeJS.Signals): void {
    this.#cancelledBy = signal;
    if (this.saying !== undefined) this.options.log.info(`${signal} received: ${this.saying}`);
    void this.#program?.signal(signal).catch(() => undefined);
    this.#cancelling = (async () => {
      await this.removeContainer();
      await this.#closeSlurmRelay();
      for (const action of this.#tellOthers) await action().catch(() => undefined);
    })();
    const exit = this.options.exit;
    if (exit !== undefined) void this.#cancelling.then(() => exit(exitCodeForSignal(signal)));
  }

  /** Removes the container now, for a path that must have it gone before it goes on; never throws. */
  removeContainer(): Promise<void> {
    return (
      this.#container?.remove().catch((error: unknown) => this.options.log.error(messageOf(error))) ?? Promise.resolve()
    );
  }

  #closeSlurmRelay(): Promise<void> {
    return this.#slurmRelay?.close().catch(() => undefined) ?? Promise.resolve();
  }

  /** The way out of every path, run once however often asked; never throws. */
  finish(): Promise<void> {
    this.#finished ??= this.#finish();
    return this.#finished;
  }

  async #finish(): Promise<void> {
    await Promise.all([this.removeContainer(), this.#sweep?.()?.catch(() => undefined)]);
    this.#relay?.close();
    await this.#closeSlurmRelay();
    await this.options.runtime?.releaseUserNamespace().catch(() => undefined);
    // The main path can end (its container gone) while the signal's teardown still tells the
    // other nodes: returning now would let the process exit in the middle of that.
    await this.#cancelling;
    this.#unsubscribe();
  }
}
