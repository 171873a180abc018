/**
 * What a run asks of the engine besides `run` and removal, per engine: Docker's Engine API
 * from our own process where there is one (docker-api-queries.ts), the CLI otherwise (podman,
 * or a docker CLI pointed at tcp, ssh or a context). Both answer alike, so ContainerRuntime
 * decides what an answer means once.
 */
import {
  buildDockerExecArgs,
  type ContainerSummary,
  type ExecPlan,
  execByNames,
  firstEngineLine,
  parsePsJson,
} from "../../core/engine/index.js";
import { IMAGE_FACTS_FORMAT, type ImageFacts, parseImageFacts } from "../../core/image/index.js";
import { type ExitInfo, type RunCommandOptions, type runCommand, spawnInherit } from "../process/index.js";

export type ImageLookup =
  | { readonly kind: "found"; readonly facts: ImageFacts }
  | { readonly kind: "missing" }
  | { readonly kind: "failed"; readonly why: string };

export type ContainerListing =
  | { readonly kind: "listed"; readonly containers: ContainerSummary[] }
  | { readonly kind: "failed"; readonly why: string };

/** A process started in a container on our stdio (the job script, a task's program). */
export interface ExecProcess {
  readonly exit: Promise<ExitInfo>;
}

export interface EngineQueries {
  /** "api" or "cli": which way this engine is reached (messages, `--debug`, tests). */
  readonly via: "api" | "cli";
  inspectImage(image: string): Promise<ImageLookup>;
  list(labels: Readonly<Record<string, string>>): Promise<ContainerListing>;
  /** The last `tail` lines the container logged, stdout's and stderr's apart. */
  logs(name: string, tail: number): Promise<{ stdout: string; stderr: string }>;
  exec(plan: ExecPlan): ExecProcess;
  /** Runs a helper (e.g. `kill`) in the container and waits at most `timeoutMs`; never rejects. */
  execHelper(plan: ExecPlan, timeoutMs: number): Promise<void>;
}

export type Cli = (args: readonly string[], options?: RunCommandOptions) => ReturnType<typeof runCommand>;

export function cliQueries(bin: string, cli: Cli, spawn = spawnInherit): EngineQueries {
  return {
    via: "cli",
    async inspectImage(image) {
      const r = await cli(["image", "inspect", "--format", IMAGE_FACTS_FORMAT, image]);
      if (r.exitCode === 0) return { kind: "found", facts: parseImageFacts(r.stdout) };
      const why = firstEngineLine(r.stderr);
      // docker: "No such image"; podman: "image not known".
      return /no such image|not found|not known|unknown/i.test(why) ? { kind: "missing" } : { kind: "failed", why };
    },
    async list(labels) {
      const args = ["ps", "-a", "--no-trunc", "--format", "{{json .}}"];
      for (const [key, value] of Object.entries(labels)) args.push("--filter", `label=${key}=${value}`);
      const r = await cli(args);
      if (r.exitCode !== 0) return { kind: "failed", why: firstEngineLine(r.stderr) };
      return { kind: "listed", containers: parsePsJson(r.stdout) };
    },
    async logs(name, tail) {
      const r = await cli(["logs", "--tail", String(tail), name]);
      return { stdout: r.stdout, stderr: r.stderr };
    },
    exec(plan) {
      const named = execByNames(plan);
      return spawn(bin, buildDockerExecArgs(named.plan), { env: { ...process.env, ...named.values } });
    },
    async execHelper(plan, timeoutMs) {
      await cli(buildDockerExecArgs(plan), { timeoutMs }).catch(() => undefined);
    },
  };
}
