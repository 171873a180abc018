// The one teardown path's order, for every launcher: what scancel's SIGTERM does on a node.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../io/process/index.js";
import { Teardown } from "./teardown.js";

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** Every part records what happened to it, in one list; each step takes a turn of the event loop. */
function parts(steps: string[]) {
  const later = (step: string) => async () => {
    await new Promise((resolve) => setImmediate(resolve));
    steps.push(step);
  };
  return {
    program: { signal: async (signal: NodeJS.Signals) => void steps.push(`program ${signal}`) },
    container: { remove: later("container removed") },
    relay: { close: () => void steps.push("relay closed") },
    runtime: { releaseUserNamespace: later("user namespace released") },
    tellOthers: later("others told"),
    sweep: later("stale swept"),
  };
}

describe("Teardown", () => {
  it("on a signal: the program, the container, the other nodes, then exit 128+n; later signals swallowed", async () => {
    const steps: string[] = [];
    const signals = new EventEmitter();
    const p = parts(steps);
    const exited = new Promise<void>((resolve) => {
      const teardown = new Teardown({
        log: quiet,
        signals,
        exit: (code) => {
          steps.push(`exit ${code}`);
          resolve();
        },
        runtime: p.runtime,
      });
      teardown.program(p.program);
      teardown.container(p.container);
      teardown.tellOthers(p.tellOthers);
      signals.emit("SIGTERM");
      signals.emit("SIGINT");
      expect(teardown.cancelledBy).toBe("SIGTERM");
      expect(teardown.exitCode(0)).toBe(143);
    });
    await exited;
    expect(steps).toEqual(["program SIGTERM", "container removed", "others told", "exit 143"]);
  });

  it("every way out: container and sweep, relay, user namespace, the signal's teardown, then signals let go", async () => {
    const steps: string[] = [];
    const signals = new EventEmitter();
    const p = parts(steps);
    const teardown = new Teardown({ log: quiet, signals, runtime: p.runtime });
    teardown.container(p.container);
    teardown.relay(p.relay);
    const sweep = p.sweep();
    teardown.sweep(() => sweep);
    expect(signals.listenerCount("SIGTERM")).toBe(1);
    await Promise.all([teardown.finish(), teardown.finish()]);
    // The container's removal and the sweep run side by side; the rest in order after both.
    expect(steps.slice(0, 2).sort()).toEqual(["container removed", "stale swept"]);
    expect(steps.slice(2)).toEqual(["relay closed", "user namespace released"]);
    expect(signals.listenerCount("SIGTERM")).toBe(0);
    expect(teardown.exitCode(3)).toBe(3);
  });

  it("a container that comes after the signal is removed at once: none may start", async () => {
    const steps: string[] = [];
    const signals = new EventEmitter();
    const teardown = new Teardown({ log: quiet, signals });
    signals.emit("SIGHUP");
    teardown.container(parts(steps).container);
    await teardown.finish();
    expect(steps[0]).toBe("container removed");
    expect(teardown.exitCode(0)).toBe(129);
  });
});
