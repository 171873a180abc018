/**
 * The job-long watch on a node's container: one request that returns when the container is no
 * longer running (Docker's Engine API `wait`, one long poll, or the CLI's `wait` for a docker CLI
 * without a socket; for Podman, its main process watched in /proc), so a container killed
 * mid-job (the OOM killer, an admin's `docker kill`, a daemon restart) ends the job at once
 * instead of leaving the other nodes to hang. A wait that breaks (the daemon died, or restarts and drops its connections) is not
 * believed alone: the container is looked at, and only when it is not running, gone, or the
 * engine stays silent longer than ENGINE_PATIENCE_MS does the watch say it ended.
 */
import { readFile } from "node:fs/promises";
import {
  CONTAINER_STATUS_FORMAT,
  type ContainerEnd,
  type ContainerStatus,
  firstEngineLine,
  parseInspectState,
  parseStatusLine,
} from "../../core/engine/index.js";
import { realTimers, sleep, type Timers } from "../process/index.js";
import { apiMessage, type DockerApi } from "./docker-api.js";
import type { Cli } from "./engine-queries.js";

/** What the wait came back with: an end, or broken (the connection dropped, the engine failed). */
export type WaitAnswer =
  | Exclude<ContainerEnd, { kind: "engine-lost" }>
  | { readonly kind: "broken"; readonly why: string };

/** The two questions the watch asks an engine. */
export interface ContainerStates {
  /** Returns once `name` is not running; undefined once `signal` aborted. */
  wait(name: string, signal: AbortSignal): Promise<WaitAnswer | undefined>;
  /** One look at it now. */
  look(name: string): Promise<ContainerStatus>;
}

/**
 * How long a silent engine is waited for before its containers count as lost. A daemon that
 * restarts with live-restore is back within about a second and its containers run on; one
 * that died leaves every exec and remote command of the job broken.
 */
export const ENGINE_PATIENCE_MS = 1500;
/** Between looks at a silent engine, and before waiting again on one that came back. */
const RETRY_MS = 100;

/** How the container ended without our teardown; undefined once `signal` aborted (our teardown). */
export async function watchContainerEnd(
  states: ContainerStates,
  name: string,
  signal: AbortSignal,
  timers: Timers = realTimers,
): Promise<ContainerEnd | undefined> {
  for (;;) {
    const answer = await states.wait(name, signal);
    if (answer === undefined || signal.aborted) return undefined;
    if (answer.kind !== "broken") return answer;
    const now = await lookPatiently(states, name, signal, timers);
    if (now === undefined) return undefined;
    if (now.kind === "unreachable") return { kind: "engine-lost", why: now.why };
    if (now.kind !== "running") return now;
    // The engine is back (or the wait failed on its own) and the container runs: wait again.
    await sleep(RETRY_MS, timers);
  }
}

/** Looks until the engine answers, for at most ENGINE_PATIENCE_MS; undefined once `signal` aborted. */
async function lookPatiently(
  states: ContainerStates,
  name: string,
  signal: AbortSignal,
  timers: Timers,
): Promise<ContainerStatus | undefined> {
  const until = timers.now() + ENGINE_PATIENCE_MS;
  for (;;) {
    const now = await states.look(name);
    if (signal.aborted) return undefined;
    if (now.kind !== "unreachable" || timers.now() >= until) return now;
    await sleep(RETRY_MS, timers);
  }
}

/** Docker's Engine API on its socket: the wait is one long-poll request, the look one inspect. */
export function apiContainerStates(api: Pick<DockerApi, "call">): ContainerStates {
  const at = (name: string) => `/containers/${encodeURIComponent(name)}`;
  return {
    async wait(name, signal) {
      try {
        const r = await api.call("POST", `${at(name)}/wait?condition=not-running`, { timeoutMs: 0, signal });
        if (signal.aborted) return undefined;
        if (r.status === 404) return { kind: "gone" };
        const code = r.status === 200 ? statusCodeOf(r.body) : undefined;
        return code === undefined ? { kind: "broken", why: apiMessage(r) } : { kind: "exited", code };
      } catch (error) {
        return signal.aborted ? undefined : { kind: "broken", why: messageOf(error) };
      }
    },
    async look(name) {
      try {
        const r = await api.call("GET", `${at(name)}/json`, { timeoutMs: 2000 });
        if (r.status === 404) return { kind: "gone" };
        const status = r.status === 200 ? parseInspectState(r.body) : undefined;
        return status ?? { kind: "unreachable", why: apiMessage(r) };
      } catch (error) {
        return { kind: "unreachable", why: messageOf(error) };
      }
    },
  };
}

/** A docker CLI over tcp, ssh or a context: `docker wait` is one long poll of the daemon, as the API's. */
export function cliContainerStates(cli: Cli): ContainerStates {
  return {
    async wait(name, signal) {
      const r = await cli(["wait", name], { signal });
      if (r.aborted || signal.aborted) return undefined;
      const code = Number(r.stdout.trim());
      if (r.exitCode === 0 && r.stdout.trim() !== "" && Number.isInteger(code)) return { kind: "exited", code };
      const why = firstEngineLine(r.stderr) || `exit ${r.exitCode ?? r.signal}`;
      return isNoSuchContainer(why) ? { kind: "gone" } : { kind: "broken", why };
    },
    look: cliLook(cli),
  };
}

/** How often the container's main process is looked for in /proc (a read, no process started). */
export const PID_POLL_MS = 250;
const BLIND_LOOK_MS = 1000; // how often podman is asked instead, when /proc hides the process

/**
 * Podman has no daemon to long-poll, and `podman wait` would be one more engine process per node
 * for the whole job, hit by Slurm's signal at scancel while the teardown removes its container.
 * So the main process is watched from here, its /proc entry every PID_POLL_MS, and the engine is
 * asked once it is gone (or changed: a pid alone may be reused, its start time may not).
 */
export function podmanContainerStates(
  cli: Cli,
  startTimeOf: (pid: number) => Promise<string | undefined> = procStartTime,
  timers: Timers = realTimers,
  onConmon: (conmonPid: number) => void = () => {},
): ContainerStates {
  // Before the watch began: the name is the run's own, so no other container died under it.
  const since = new Date(Date.now() - 60_000);
  const inspect = cliLook(cli);
  // Podman removes a `--rm` container within a moment of its end; its `died` event keeps the code.
  const look = async (name: string): Promise<ContainerStatus> => {
    const now = await inspect(name);
    return now.kind === "gone" ? ((await diedEvent(cli, name, since)) ?? now) : now;
  };
  const settled = async (name: string): Promise<WaitAnswer> => {
    const now = await look(name);
    if (now.kind === "unreachable") return { kind: "broken", why: now.why };
    // Podman records the exit a moment after the process ends: the watch looks again.
    if (now.kind === "running") return { kind: "broken", why: "its main process ended; podman says it runs" };
    return now;
  };
  return {
    look,
    async wait(name, signal) {
      const { pid, conmon } = await pidsOf(cli, name);
      if (conmon !== undefined) onConmon(conmon);
      const born = pid === undefined ? undefined : await startTimeOf(pid);
      if (pid === undefined || born === undefined) {
        // Hidden from us (/proc mounted hidepid) or not started yet: ask the engine, slowly.
        while ((await look(name)).kind === "running")
          if (!(await pause(BLIND_LOOK_MS, signal, timers))) return undefined;
        return signal.aborted ? undefined : settled(name);
      }
      while ((await startTimeOf(pid)) === born) if (!(await pause(PID_POLL_MS, signal, timers))) return undefined;
      return signal.aborted ? undefined : settled(name);
    },
  };
}

function cliLook(cli: Cli): ContainerStates["look"] {
  return async (name) => {
    const r = await cli(["container", "inspect", "--format", CONTAINER_STATUS_FORMAT, name], { timeoutMs: 5000 });
    const status = r.exitCode === 0 ? parseStatusLine(r.stdout) : undefined;
    if (status !== undefined) return status;
    const why = firstEngineLine(r.stderr) || `exit ${r.exitCode ?? r.signal}`;
    return isNoSuchContainer(why) ? { kind: "gone" } : { kind: "unreachable", why };
  };
}

/** The exit code in the container's `died` event since `since`, if podman logged one. */
async function diedEvent(cli: Cli, name: string, since: Date): Promise<ContainerStatus | undefined> {
  const r = await cli(
    [
      "events",
      "--stream=false",
      "--since",
      since.toISOString(),
      "--filter",
      `container=${name}`,
      "--filter",
      "event=died",
      "--format",
      "{{.ContainerExitCode}}",
    ],
    { timeoutMs: 5000 },
  );
  const code = Number(r.stdout.trim().split("\n").at(-1));
  return r.exitCode === 0 && r.stdout.trim() !== "" && Number.isInteger(code) ? { kind: "exited", code } : undefined;
}

/** The container's main process, and its conmon (which knows podman's runtime dir: podman-pause.ts). */
async function pidsOf(cli: Cli, name: string): Promise<{ pid: number | undefined; conmon: number | undefined }> {
  const r = await cli(["container", "inspect", "--format", "{{.State.Pid}} {{.State.ConmonPid}}", name], {
    timeoutMs: 5000,
  });
  if (r.exitCode !== 0) return { pid: undefined, conmon: undefined };
  const [pid, conmon] = r.stdout.trim().split(" ").map(Number);
  const valid = (n: number | undefined) => (n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined);
  return { pid: valid(pid), conmon: valid(conmon) };
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces); undefined once it is gone. */
export async function procStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Sleeps `ms`; false, at once, when `signal` aborts (our teardown). */
function pause(ms: number, signal: AbortSignal, timers: Timers): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      timers.clearTimeout(handle);
      resolve(false);
    };
    const handle = timers.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** docker: "No such container"; podman: "no container with name or ID ... found". */
function isNoSuchContainer(why: string): boolean {
  return /no such container|no container with name/i.test(why);
}

function statusCodeOf(body: string): number | undefined {
  try {
    const code = (JSON.parse(body) as { StatusCode?: unknown }).StatusCode;
    return typeof code === "number" ? code : undefined;
  } catch {
    return undefined;
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
