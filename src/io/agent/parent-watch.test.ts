import { EventEmitter } from "node:events";
import { expect, test } from "vitest";
import type { Timers } from "../process/index.js";
import { withParentWatch } from "./parent-watch.js";

/** Timers that run only when the test says: `tick()` fires what is due. */
function manualTimers() {
  let queue: (() => void)[] = [];
  const timers: Timers = {
    now: () => 0,
    setTimeout: (callback) => {
      queue.push(callback);
      return callback;
    },
    clearTimeout: (handle) => {
      queue = queue.filter((c) => c !== handle);
    },
  };
  const tick = () => {
    const due = queue;
    queue = [];
    for (const callback of due) callback();
  };
  return { timers, tick, pending: () => queue.length };
}

test("a new parent (ours died, we were reparented) is a SIGHUP, once; real signals still pass", () => {
  let ppid = 100;
  const { timers, tick, pending } = manualTimers();
  const process = new EventEmitter();
  const signals = withParentWatch(process, { parentPid: () => ppid, timers });
  const heard: string[] = [];
  signals.on("SIGHUP", () => heard.push("hup"));
  signals.on("SIGINT", () => heard.push("int"));
  tick();
  expect(heard).toEqual([]);
  process.emit("SIGINT");
  ppid = 1;
  tick();
  tick();
  expect(heard).toEqual(["int", "hup"]);
  expect(pending()).toBe(0);
});

test("no listener, no polling", () => {
  const { timers, pending } = manualTimers();
  const signals = withParentWatch(new EventEmitter(), { parentPid: () => 7, timers });
  const listener = () => {};
  signals.on("SIGHUP", listener);
  expect(pending()).toBe(1);
  signals.off("SIGHUP", listener);
  expect(pending()).toBe(0);
});
