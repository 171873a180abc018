// The container engine as the runtime edge. Users pass raw docker options through, so
// containers start through the CLI (`run`, and `create`/`cp` for the image's passwd, once per
// image); every CLI call is one argv, and errors carry the CLI's own words. Everything else
// (image inspect, list, logs, exec, removal) goes through Docker's Engine API where there is
// one (docker-api*.ts), the CLI otherwise (podman; docker over tcp, ssh or a context).
import { rename, rm } from "node:fs/promises";

import { isRefusalSummary } from "../../core/channel/index.js";
import { NEVER, UserError } from "../../core/common/index.js";
import type { ContainerSummary, ExecPlan } from "../../core/engine/index.js";
import { firstEngineLine as firstLine } from "../../core/engine/index.js";
import type { ImageFacts } from "../../core/image/index.js";
import { buildCommitArgs, buildSaveArgs, parseImageRunConfig } from "../../core/job-container/index.js";
import {
  apiContainerStates,
  apiQueries,
  apiRemovalEngine,
  type Cli,
  type ContainerStates,
  cliContainerStates,
  cliQueries,
  cliRemovalEngine,
  type DockerApi,
  defaultDockerApi,
  describeRemovalFailures,
  dockerSawOutOfMemory,
  type EngineQueries,
  type ExecProcess,
  podmanContainerStates,
  type RemovalEngine,
  type RemovalFailure,
  type RemovalOptions,
  removeAllUntilGone,
  stateSaysOom,
  UserNamespace,
  waitContainerStopped,
} from "../engine/index.js";
import { createImageEngine, type ImageEngine, type ImageFiles, readImageFiles } from "../image/index.js";
import { type RunCommandOptions, runCommand, sleep } from "../process/index.js";

export type { ContainerSummary } from "../../core/engine/index.js";
export type { ExecProcess } from "../engine/index.js";
export type { ImageFiles } from "../image/index.js";

export class ContainerRuntime {
  constructor(
    readonly bin: string,
    readonly node: string,
    private readonly run = runCommand,
    private readonly kill = (pid: number, signal: NodeJS.Signals): void => void process.kill(pid, signal),
    private readonly getuid = (): number => process.getuid?.() ?? -1,
    private readonly api: DockerApi | undefined = defaultDockerApi(bin),
  ) {
    this.namespace = new UserNamespace(bin === "podman" && getuid() !== 0, (args) => run(bin, args), kill);
    const cli = (args: readonly string[], options?: RunCommandOptions) => this.cli(args, options);
    this.queries = api === undefined ? cliQueries(bin, cli) : apiQueries(api, node);
  }

  private readonly namespace: UserNamespace;
  private readonly queries: EngineQueries;

  /**
   * The engine as the image step uses it (find, pull, load, tag), through this runtime's own
   * CLI runner, so rootless Podman's pause process that an image command starts is released
   * with the rest at the end of the run.
   */
  imageEngine(): ImageEngine {
    return createImageEngine(
      this.bin === "podman" ? "podman" : "docker",
      this.node,
      this.api,
      (file, args, options) => {
        this.namespace.used();
        return this.run(file, args, options);
      },
    );
  }

  /** The image's ID and PATH; a clear error naming the image and the node when it is not there. */
  async inspectImage(image: string): Promise<ImageFacts> {
    const r = await this.queries.inspectImage(image);
    if (r.kind === "found") return r.facts;
    // This node's run ends here, before it has a container whose removal would do this.
    await this.releaseUserNamespace();
    if (r.kind === "missing") {
      throw new UserError("image-missing", `image \`${image}\` is not present on ${this.node}`, {
        hint: `load it on every node (e.g. \`srun ${this.bin} pull ${image}\` or \`${this.bin} load\`)`,
      });
    }
    throw this.unreachable(r.why);
  }

  /**
   * Starts `plan` in its container on our stdio (the job script, a task's program): `exit`
   * settles with its exit code, and rejects only when it could not be started at all.
   */
  exec(plan: ExecPlan): ExecProcess {
    return this.queries.exec(plan);
  }

  /** The image's own /etc/passwd and /etc/group (image-files.ts), cached per image id in `cacheDir`. */
  readImageFiles(image: string, imageId: string, cacheDir: string): Promise<ImageFiles> {
    const cli = (args: readonly string[], options?: RunCommandOptions) => this.cli(args, options);
    return readImageFiles(this.bin, cli, imageId, cacheDir, (stderr) =>
      this.failure(`cannot read /etc/passwd of \`${image}\``, stderr),
    );
  }

  /**
   * `run -d ...`: returns the container id, or the runtime's own error naming the node. A CLI
   * killed by a signal (the step's SIGTERM reaches it too) is `start-interrupted`: its request
   * may still be under way in the daemon, so the container may appear later.
   */
  async start(args: string[], signal?: AbortSignal): Promise<string> {
    // An abort (a teardown that cannot wait) ends the CLI: SIGTERM, then SIGKILL soon after.
    const r = await this.cli(args, signal === undefined ? {} : { signal, killGraceMs: 300 });
    // Killed, or gave up without the engine's answer: docker 23+ CLIs catch SIGTERM, drop
    // the request and exit 1 in silence (or with "context canceled").
    if (
      r.exitCode === null ||
      r.aborted ||
      (r.exitCode !== 0 && (r.stderr.trim() === "" || /context canceled/i.test(r.stderr)))
    ) {
      const how =
        r.exitCode === null
          ? `was ended by ${r.signal ?? "a signal"}`
          : `gave up (exit ${r.exitCode}${r.stderr.trim() ? `: ${firstLine(r.stderr)}` : ""})`;
      throw new UserError("start-interrupted", `\`${this.bin} run\` on ${this.node} ${how}`);
    }
    if (r.exitCode !== 0) throw this.failure("cannot start the container", r.stderr);
    return r.stdout.trim();
  }

  /**
   * After a `run` whose CLI was killed, the daemon may still create the container from the
   * request it got. Watches the name for `windowMs` and removes the container if it shows up.
   */
  async removeLateArrival(name: string, windowMs: number): Promise<void> {
    // Podman has no daemon: once its `run` process is gone, nothing creates anything more.
    if (this.bin === "podman") return;
    // One Engine API request is cheap; a docker CLI start is not (no socket: tcp, contexts).
    const everyMs = this.api === undefined ? 300 : 100;
    const engine = this.removalEngine();
    const until = Date.now() + windowMs;
    while (Date.now() < until) {
      if ((await engine.exists(name).catch(() => false)) === true) {
        await this.remove([name]);
        return;
      }
      await sleep(everyMs);
    }
  }

  /**
   * Its exit code once it is no longer running (or gone); stops when `signal` aborts. Docker only
   * (docker-api.ts); with podman it stays pending (the lifeline's exit file covers it there).
   */
  waitStopped(name: string, signal: AbortSignal): Promise<number | undefined> {
    return this.api === undefined ? NEVER : waitContainerStopped(this.api, name, signal);
  }

  /** Asks whether and how a container runs, for the job-long watch (container-watch.ts). */
  containerStates(): ContainerStates {
    if (this.api !== undefined) return apiContainerStates(this.api);
    const cli: Cli = (args, o) => this.cli(args, o);
    if (this.bin !== "podman") return cliContainerStates(cli);
    return podmanContainerStates(cli, undefined, undefined, (conmon) => void this.namespace.learnFromConmon(conmon));
  }

  /** `signal` to a process in it as its user (`exec` forwards none); a pid < 0 is a group, as in kill(2). */
  async signalProcess(name: string, user: { uid: number; gid: number }, pid: number, signal: string): Promise<void> {
    const command = ["/bin/sh", "-c", 'kill -s "$0" -- "$1"', signal.replace(/^SIG/, ""), String(pid)]; // no kill(1) in slim images
    await this.queries.execHelper({ name, user, workdir: undefined, env: {}, command }, 3000);
  }

  /** Whether the kernel killed a process in it for memory since `sinceMs` (`settled`: see out-of-memory.ts); false when the engine cannot tell. */
  async outOfMemory(name: string, sinceMs: number, settled = false): Promise<boolean> {
    if (this.api !== undefined) return dockerSawOutOfMemory(this.api, name, sinceMs, settled).catch(() => false);
    const r = await this.cli(["inspect", name], { timeoutMs: 5000 }).catch(() => undefined);
    return r !== undefined && r.exitCode === 0 && stateSaysOom(r.stdout);
  }

  /**
   * The container's last words (its last log line, stderr's first): why its main process exited. Summaries of
   * refused connections (core/channel/refusal-tally.ts) are passed over: another user's flood is never why.
   */
  async lastLogLine(name: string): Promise<string> {
    const r = await this.queries.logs(name, 20);
    const lines = `${r.stdout}\n${r.stderr}`
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !isRefusalSummary(l));
    return lines.at(-1) ?? "";
  }

  /**
   * Removes every container named and confirms each is gone (retrying within
   * `options.deadlineMs`); a UserError naming the node and what is left otherwise.
   */
  async remove(names: readonly string[], options: RemovalOptions = {}): Promise<void> {
    const failures = await this.removeEach(names, options);
    if (failures.length > 0) throw this.removalError(failures);
  }

  /** The same, returning what could not be removed instead of throwing. */
  async removeEach(names: readonly string[], options: RemovalOptions = {}): Promise<RemovalFailure[]> {
    if (names.length === 0) return [];
    const failures = await removeAllUntilGone(this.removalEngine(), names, options);
    await this.releaseUserNamespace();
    return failures;
  }

  removalError(failures: readonly RemovalFailure[]): UserError {
    return describeRemovalFailures(this.bin, this.node, failures);
  }

  private removalEngine(): RemovalEngine {
    if (this.api !== undefined) return apiRemovalEngine(this.api);
    return cliRemovalEngine(this.bin, (args, options) => this.cli(args, options));
  }

  /** Every engine command but the namespace release's own: it may (re)start podman's pause process. */
  private cli(args: readonly string[], options?: RunCommandOptions): ReturnType<typeof runCommand> {
    this.namespace.used();
    return this.run(this.bin, args, options);
  }

  /** Ends rootless podman's pause process once no container is left (io/engine/podman-pause.ts); a no-op for docker and root. */
  releaseUserNamespace(): Promise<void> {
    return this.namespace.release();
  }

  /**
   * Rootless podman: a watcher (outside this process, so our SIGKILL does not take it) that
   * ends the pause process if we die without our teardown. A no-op for docker and for root.
   */
  watchUserNamespace(lifeline: string, switchDir: string, spawnDetached?: (argv: readonly string[]) => void): void {
    this.namespace.watch(lifeline, switchDir, spawnDetached);
  }

  /**
   * Commits `name` as `tag` with its image's own entrypoint, command, working directory and
   * user (core/job-container/container-save.ts), saves that into `file` (written beside it, then
   * renamed: a half-written archive never has the name), and drops the tag again.
   */
  async saveContainer(name: string, tag: string, file: string): Promise<void> {
    const image = await this.cliOrFail(`cannot inspect ${name}`, ["inspect", "--format", "{{.Image}}", name]);
    const config = await this.cliOrFail(`cannot inspect the image of ${name}`, [
      "image",
      "inspect",
      "--format",
      "{{json .Config}}",
      image.trim(),
    ]);
    await this.cliOrFail(`cannot commit ${name}`, buildCommitArgs(name, tag, parseImageRunConfig(config)));
    const partial = `${file}.partial-${process.pid}`;
    try {
      await this.cliOrFail(`cannot save ${name} to ${file}`, buildSaveArgs(tag, partial));
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true }).catch(() => undefined);
      await this.cli(["image", "rm", tag]).catch(() => undefined);
    }
  }

  private async cliOrFail(what: string, args: readonly string[]): Promise<string> {
    const r = await this.cli(args);
    if (r.exitCode !== 0) throw this.failure(what, r.stderr);
    return r.stdout;
  }

  /** Containers carrying every one of `labels`, running or not, with all their labels. */
  async list(labels: Readonly<Record<string, string>>): Promise<ContainerSummary[]> {
    const r = await this.queries.list(labels);
    if (r.kind === "failed") throw this.unreachable(r.why);
    return r.containers;
  }

  private unreachable(why: string): UserError {
    return new UserError("runtime", `${this.bin} is not usable on ${this.node}: ${why}`, {
      hint:
        this.bin === "podman"
          ? `check that rootless podman works for you on ${this.node} (\`podman info\`: subuid/subgid ranges, node-local storage)`
          : `check that the ${this.bin} daemon runs on ${this.node} and that you may use it (group docker)`,
    });
  }

  private failure(what: string, stderr: string): UserError {
    return new UserError("runtime", `${what} on ${this.node}: ${firstLine(stderr) || "no message"}`);
  }
}
