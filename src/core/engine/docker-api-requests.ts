/**
 * The Engine API requests that stand in for docker CLI calls, and the answers read back, pure:
 * each builder says what the CLI would send for the same command line, so both paths run the
 * same thing (io/docker-api-engine.ts sends them).
 */

import type { ImageFacts } from "../image/index.js";
import type { ExecPlan } from "./docker-args.js";
import type { ContainerSummary } from "./ps-json.js";

/** Every segment escaped, the slashes of a repository path kept (`/images/{name}/json` takes them). */
function pathName(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}

/** `docker image inspect IMAGE`. */
export function imageInspectPath(image: string): string {
  return `/images/${pathName(image)}/json`;
}

/** `docker ps -a --filter label=K=V ...`: every container, running or not, carrying all of `labels`. */
export function containerListPath(labels: Readonly<Record<string, string>>): string {
  const label = Object.entries(labels).map(([key, value]) => `${key}=${value}`);
  return `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label }))}`;
}

/** `docker logs --tail N NAME`. */
export function containerLogsPath(name: string, tail: number): string {
  return `/containers/${encodeURIComponent(name)}/logs?stdout=1&stderr=1&tail=${tail}`;
}

export function execCreatePath(container: string): string {
  return `/containers/${encodeURIComponent(container)}/exec`;
}

export function execStartPath(id: string): string {
  return `/exec/${encodeURIComponent(id)}/start`;
}

export function execInspectPath(id: string): string {
  return `/exec/${encodeURIComponent(id)}/json`;
}

/** The body of `POST /containers/{name}/exec`, as `docker exec` builds it from the same plan. */
export interface ExecConfig {
  readonly AttachStdin: boolean;
  readonly AttachStdout: boolean;
  readonly AttachStderr: boolean;
  readonly Tty: false;
  readonly User?: string;
  readonly WorkingDir?: string;
  readonly Env: readonly string[];
  readonly Cmd: readonly string[];
}

/**
 * `-e NAME` takes NAME's value from the environment the CLI runs in (here `env`); when NAME is
 * unset there, the CLI sends the bare name, which makes the daemon unset it: so do we.
 * `attach: false` starts it detached (nothing read back, as for a helper such as `kill`).
 */
export function buildExecConfig(plan: ExecPlan, env: NodeJS.ProcessEnv, attach = true): ExecConfig {
  const named = (plan.envNames ?? []).map((name) => {
    const value = env[name];
    return value === undefined ? name : `${name}=${value}`;
  });
  return {
    AttachStdin: attach && plan.interactive === true,
    AttachStdout: attach,
    AttachStderr: attach,
    Tty: false,
    ...(plan.user === undefined ? {} : { User: `${plan.user.uid}:${plan.user.gid}` }),
    ...(plan.workdir === undefined ? {} : { WorkingDir: plan.workdir }),
    Env: [...named, ...Object.entries(plan.env).map(([key, value]) => `${key}=${value}`)],
    Cmd: [...plan.command],
  };
}

/**
 * A request body as `--debug` shows it: an exec's `Env` by names only, as its CLI line shows
 * `--envlist` variables, since the debug output goes to a file (Slurm's) others may read.
 */
export function describeRequestBody(body: unknown): string {
  if (typeof body !== "object" || body === null || !("Env" in body) || !Array.isArray(body.Env)) {
    return JSON.stringify(body);
  }
  const names = body.Env.map((entry: unknown) => (typeof entry === "string" ? entry.split("=", 1)[0] : entry));
  return JSON.stringify({ ...body, Env: names });
}

function parseObject(body: string): Record<string, unknown> {
  const value: unknown = JSON.parse(body);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
  return value as Record<string, unknown>;
}

/** `GET /images/{name}/json`: the ID and the config's PATH, as IMAGE_FACTS_FORMAT reads them. */
export function parseImageInspect(body: string): ImageFacts {
  const image = parseObject(body);
  const config = image.Config as { Env?: unknown } | null | undefined;
  const env = Array.isArray(config?.Env) ? config.Env.filter((e): e is string => typeof e === "string") : [];
  const path = env.find((entry) => entry.startsWith("PATH="))?.slice("PATH=".length);
  return { id: typeof image.Id === "string" ? image.Id : "", path: path || undefined };
}

/**
 * `GET /containers/json`: names come with a leading slash; a legacy link adds more names
 * (`/other/alias`). `docker ps --no-trunc` shows the first name that is not a link: so do we.
 */
export function parseContainerList(body: string): ContainerSummary[] {
  const rows: unknown = JSON.parse(body);
  if (!Array.isArray(rows)) throw new Error("not a JSON array");
  return rows.map((row: { Names?: unknown; Labels?: unknown }) => {
    const names = (Array.isArray(row.Names) ? row.Names : [])
      .filter((n): n is string => typeof n === "string")
      .map((n) => n.replace(/^\//, ""));
    const labels = typeof row.Labels === "object" && row.Labels !== null ? (row.Labels as Record<string, string>) : {};
    return { name: names.find((n) => !n.includes("/")) ?? names[0] ?? "", labels: { ...labels } };
  });
}

/** `GET /exec/{id}/json`: whether it still runs, and its exit code once it has one. */
export function parseExecState(body: string): { running: boolean; exitCode: number | undefined } {
  const state = parseObject(body);
  return {
    running: state.Running === true,
    exitCode: typeof state.ExitCode === "number" ? state.ExitCode : undefined,
  };
}

/** `POST /containers/{name}/exec` (201): the new exec's id. */
export function parseCreatedId(body: string): string {
  const id = parseObject(body).Id;
  if (typeof id !== "string" || id === "") throw new Error("no Id in the answer");
  return id;
}
