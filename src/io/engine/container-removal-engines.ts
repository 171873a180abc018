/**
 * The two ways to remove a container and ask whether it is gone: Docker's Engine API on its
 * socket (from our own process, so the step's SIGTERM cannot cut a CLI child short), and the
 * CLI for podman, whose children are given up when they hang.
 */
import { firstEngineLine } from "../../core/engine/index.js";
import type { RunCommandOptions, runCommand } from "../process/index.js";
import type { RemovalAttempt, RemovalEngine } from "./container-removal.js";
import { apiMessage, type DockerApi } from "./docker-api.js";

export function apiRemovalEngine(api: DockerApi): RemovalEngine {
  const at = (name: string) => `/containers/${encodeURIComponent(name)}`;
  return {
    async removeOnce(name) {
      const r = await api.call("DELETE", `${at(name)}?force=1`);
      if (r.status === 204 || r.status === 404) return { kind: "gone" };
      // "removal of container X is already in progress": a --rm or another teardown.
      if (r.status === 409 && /in progress/i.test(apiMessage(r))) return { kind: "in-progress" };
      return { kind: "failed", reason: apiMessage(r) };
    },
    async exists(name) {
      const r = await api.call("GET", `${at(name)}/json`);
      if (r.status === 404) return false;
      return r.status === 200 ? true : apiMessage(r);
    },
  };
}

export function cliRemovalEngine(
  bin: string,
  cli: (args: readonly string[], options?: RunCommandOptions) => ReturnType<typeof runCommand>,
): RemovalEngine {
  // podman's `rm -f` waits 10 s for SIGTERM first; docker's kills at once. `-t 0` matches.
  const force = bin === "podman" ? ["-f", "-t", "0"] : ["-f"];
  const gone = (stderr: string) => /no such container|no container with name or id/i.test(stderr);
  return {
    removeOnce: async (name): Promise<RemovalAttempt> => {
      // Within removeUntilGone's 4 s: a hung CLI is given up and asked again.
      const r = await cli(["rm", ...force, name], { timeoutMs: 3000, killGraceMs: 500 });
      if (r.exitCode === 0 || gone(r.stderr)) return { kind: "gone" };
      return {
        kind: "failed",
        reason:
          firstEngineLine(r.stderr) ||
          (r.signal ? `${bin} rm was killed by ${r.signal}` : `${bin} rm exited ${r.exitCode}`),
      };
    },
    exists: async (name) => {
      const r = await cli(["container", "inspect", "--format", "{{.Id}}", name], {
        timeoutMs: 3000,
        killGraceMs: 500,
      });
      if (r.exitCode === 0) return true;
      return gone(r.stderr) ? false : firstEngineLine(r.stderr) || `${bin} container inspect failed`;
    },
  };
}
