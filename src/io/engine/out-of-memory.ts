// Whether the kernel killed something in a container for memory. With Docker 20.10-28 the
// container's State.OOMKilled is set only when its main process exits, and ours (the agent, or
// sleep) outlives a script the kernel killed: the daemon's "oom" event is what tells.
import type { DockerApi } from "./docker-api.js";

/**
 * Docker: an "oom" event for `name` since `sinceMs`, from the daemon's recent events. `settled`:
 * the daemon has every event that matters already (the container itself has ended, and the
 * daemon handles each container's events in order, the kernel's oom before the exit; or the
 * failure came from another node, long after any kill here): no need to wait for a late one.
 */
export async function dockerSawOutOfMemory(
  api: Pick<DockerApi, "call">,
  name: string,
  sinceMs: number,
  settled = false,
): Promise<boolean> {
  const filters = encodeURIComponent(JSON.stringify({ container: [name], event: ["oom"] }));
  // `until` makes the daemon answer with what it has and close, instead of streaming on; up to
  // two seconds ahead, an oom event a moment late for a killed script is still seen.
  const since = Math.floor(sinceMs / 1000) - 1;
  const until = settled ? (Date.now() / 1000).toFixed(3) : Math.ceil(Date.now() / 1000) + 1;
  const events = await api.call("GET", `/events?since=${since}&until=${until}&filters=${filters}`, { timeoutMs: 5000 });
  if (events.status === 200 && events.body.split("\n").some(isOomEvent)) return true;
  const inspect = await api.call("GET", `/containers/${encodeURIComponent(name)}/json`);
  return inspect.status === 200 && stateSaysOom(inspect.body);
}

/** Podman (and a CLI fallback): the container's State.OOMKilled, from `inspect`'s JSON. */
export function stateSaysOom(inspectJson: string): boolean {
  try {
    const parsed = JSON.parse(inspectJson) as unknown;
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    return (first as { State?: { OOMKilled?: unknown } } | undefined)?.State?.OOMKilled === true;
  } catch {
    return false;
  }
}

function isOomEvent(line: string): boolean {
  if (line.trim() === "") return false;
  try {
    const event = JSON.parse(line) as { status?: unknown; Action?: unknown };
    return event.Action === "oom" || event.status === "oom";
  } catch {
    return false;
  }
}
