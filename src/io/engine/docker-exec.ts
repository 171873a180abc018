/**
 * `docker exec` through the Engine API, from our own process (no docker CLI to start: that
 * costs a node tens of ms of CPU per call). Create the exec, start it on a hijacked connection
 * (`Upgrade: tcp`, answered 101), copy its multiplexed stdout and stderr to ours, our stdin to
 * it with `-i` (the CLI's CloseWrite at the end of stdin is our half-close), then read its exit
 * code. Only without a TTY: a `-t` exec stays with the CLI (raw mode, window size and detach
 * keys are the CLI's own), see container-runtime.ts.
 */
import type { Duplex, Readable, Writable } from "node:stream";
import { UserError } from "../../core/common/index.js";
import type { ExecPlan } from "../../core/engine/index.js";
import {
  buildExecConfig,
  execCreatePath,
  execInspectPath,
  execStartPath,
  parseCreatedId,
  parseExecState,
  StreamDemuxer,
} from "../../core/engine/index.js";
import type { ExitInfo } from "../process/index.js";
import { sleep } from "../process/index.js";
import { apiMessage, type DockerApi } from "./docker-api.js";

export interface ExecStdio {
  /** Read only for an interactive (`-i`) exec. */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
}

export interface ApiExecOptions {
  /** For messages: the node the container is on. */
  node: string;
  /** Where `-e NAME` takes its value from, as the CLI would from its environment. */
  env?: NodeJS.ProcessEnv;
  stdio?: ExecStdio;
  /** The first wait between exit-code polls when the output ended before the process did. */
  pollMs?: number;
}

/** Starts `plan` in its container; `exit` settles when it has ended, as `docker exec`'s own exit would. */
export function startApiExec(api: DockerApi, plan: ExecPlan, options: ApiExecOptions): { exit: Promise<ExitInfo> } {
  return { exit: runApiExec(api, plan, options) };
}

async function runApiExec(api: DockerApi, plan: ExecPlan, options: ApiExecOptions): Promise<ExitInfo> {
  const { node } = options;
  const stdio = options.stdio ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const id = await createExec(api, plan, buildExecConfig(plan, options.env ?? process.env), node);
  const started = await api
    .upgrade(execStartPath(id), { Detach: false, Tty: false })
    .catch((error: unknown) => Promise.reject(lostDaemon(api, node, error)));
  if (started.kind === "answered") throw execFailed(plan, node, apiMessage(started.response));
  await copyStreams(started.socket, started.head, stdio, plan.interactive === true ? stdio.stdin : undefined);
  return exitOf(api, id, node, options.pollMs ?? 10);
}

/** A helper that needs no answer (`kill` in the container): started detached, as `docker exec -d`. */
export async function startDetachedApiExec(api: DockerApi, plan: ExecPlan, node: string): Promise<void> {
  const id = await createExec(api, plan, buildExecConfig(plan, process.env, false), node);
  const r = await api.call("POST", execStartPath(id), { body: { Detach: true, Tty: false } });
  if (r.status !== 200) throw execFailed(plan, node, apiMessage(r));
}

async function createExec(api: DockerApi, plan: ExecPlan, config: object, node: string): Promise<string> {
  const r = await api
    .call("POST", execCreatePath(plan.name), { body: config })
    .catch((error: unknown) => Promise.reject(lostDaemon(api, node, error)));
  if (r.status !== 201) throw execFailed(plan, node, apiMessage(r));
  return parseCreatedId(r.body);
}

/**
 * Copies frames until the daemon closes the stream (the process and everything holding its
 * stdout and stderr are gone), pausing when our stdout or stderr cannot take more; resolves
 * once every byte is written, so an exit right after it loses nothing.
 */
function copyStreams(socket: Duplex, head: Buffer, stdio: ExecStdio, stdin: Readable | undefined): Promise<void> {
  return new Promise((resolve) => {
    const copier = new FrameCopier(socket, stdio, resolve);
    if (head.length > 0) copier.onData(head);
    socket.on("data", (chunk: Buffer) => copier.onData(chunk));
    copier.resumeUnlessFull(); // upgrade() hands it over paused
    // A reset (the daemon died) ends the stream like a close; the exit code query then says why.
    socket.on("error", () => {});
    socket.on("close", () => {
      stdin?.unpipe(socket);
      copier.onClose();
    });
    if (stdin === undefined) socket.end();
    else stdin.pipe(socket);
  });
}

/** Docker's frames from the socket to our stdout and stderr, with back-pressure; `done` once all is written. */
class FrameCopier {
  readonly #demuxer = new StreamDemuxer();
  readonly #broken = new Set<Writable>();
  readonly #full = new Set<Writable>();
  #writing = 0;
  #closed = false;
  readonly #onDrain: (this: Writable) => void;
  readonly #onError: (this: Writable) => void;

  constructor(
    private readonly socket: Duplex,
    private readonly stdio: ExecStdio,
    private readonly done: () => void,
  ) {
    const copier = this;
    this.#onDrain = function (this: Writable) {
      copier.#release(this);
    };
    this.#onError = function (this: Writable) {
      copier.#broken.add(this);
      copier.#release(this);
    };
    for (const out of this.#outs()) out.on("drain", this.#onDrain).on("error", this.#onError);
  }

  onData(chunk: Buffer): void {
    let frames: ReturnType<StreamDemuxer["push"]>;
    try {
      frames = this.#demuxer.push(chunk);
    } catch {
      this.socket.destroy(); // not Docker's framing: the exit code says what became of the process
      return;
    }
    for (const frame of frames) {
      if (frame.stream === "stdout") this.#write(this.stdio.stdout, frame.payload);
      else if (frame.stream !== "stdin") this.#write(this.stdio.stderr, frame.payload);
    }
  }

  resumeUnlessFull(): void {
    if (this.#full.size === 0) this.socket.resume();
  }

  onClose(): void {
    this.#closed = true;
    this.#settle();
  }

  #outs(): Writable[] {
    return [this.stdio.stdout, this.stdio.stderr];
  }

  #write(out: Writable, data: Buffer): void {
    if (this.#broken.has(out)) return; // e.g. EPIPE: the reader is gone; the rest of that stream is dropped
    this.#writing++;
    const more = out.write(data, (error) => {
      this.#writing--;
      if (error) this.#broken.add(out);
      this.#settle();
    });
    if (!more && !this.#full.has(out)) {
      this.#full.add(out);
      this.socket.pause();
    }
  }

  /** A stream that took its fill lets the stream go on once it drains (or breaks). */
  #release(out: Writable): void {
    if (this.#full.delete(out) && this.#full.size === 0) this.socket.resume();
  }

  #settle(): void {
    if (!this.#closed || this.#writing > 0) return;
    // A failed last write emits its error after its callback (next tick): listen until then.
    setImmediate(() => {
      for (const out of this.#outs()) out.off("drain", this.#onDrain).off("error", this.#onError);
    });
    this.done();
  }
}

/**
 * The exit code, once the daemon has it: the stream can end a moment before the process is
 * reaped, or long before (it closed its stdout), so this asks until it is not running any more.
 */
async function exitOf(api: DockerApi, id: string, node: string, firstPollMs: number): Promise<ExitInfo> {
  for (let wait = firstPollMs; ; wait = Math.min(wait * 2, 1000)) {
    const r = await api
      .call("GET", execInspectPath(id))
      .catch((error: unknown) => Promise.reject(lostDaemon(api, node, error)));
    // Its container was removed (our teardown, or another's): it was killed with it.
    if (r.status === 404) return { code: null, signal: "SIGKILL" };
    if (r.status !== 200) throw new UserError("exec", `cannot read the exit code on ${node}: ${apiMessage(r)}`);
    const state = parseExecState(r.body);
    if (!state.running) return { code: state.exitCode ?? 126, signal: null };
    await sleep(wait);
  }
}

function execFailed(plan: ExecPlan, node: string, why: string): UserError {
  return new UserError("exec", `cannot run \`${plan.command[0] ?? ""}\` in ${plan.name} on ${node}: ${why}`);
}

function lostDaemon(api: DockerApi, node: string, error: unknown): UserError {
  const why = error instanceof Error ? error.message : String(error);
  return new UserError("runtime", `docker is not usable on ${node}: ${why} (${api.socketPath})`, {
    hint: `check that the docker daemon runs on ${node} and that you may use it (group docker)`,
  });
}
