import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { exitCodeForSignal, exitCodeOf, onTerminationSignals, type SignalSource } from "./signals.js";

function fakeProcess(): EventEmitter & SignalSource {
  return new EventEmitter() as EventEmitter & SignalSource;
}

describe("onTerminationSignals", () => {
  it.each(["SIGINT", "SIGTERM", "SIGHUP"] as const)("calls the handler once for %s", (signal) => {
    const proc = fakeProcess();
    const seen: string[] = [];
    onTerminationSignals((s) => seen.push(s), proc);
    proc.emit(signal);
    proc.emit("SIGINT");
    proc.emit(signal);
    expect(seen).toEqual([signal]);
  });

  it("keeps swallowing later signals until unsubscribed, then removes every listener", () => {
    const proc = fakeProcess();
    const unsubscribe = onTerminationSignals(() => {}, proc);
    expect(proc.listenerCount("SIGTERM")).toBe(1);
    unsubscribe();
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) expect(proc.listenerCount(s)).toBe(0);
  });
});

describe("exit codes", () => {
  it("maps signals to 128+n and passes codes through", () => {
    expect(exitCodeForSignal("SIGKILL")).toBe(137);
    expect(exitCodeForSignal("SIGTERM")).toBe(143);
    expect(exitCodeOf({ code: 3, signal: null })).toBe(3);
    expect(exitCodeOf({ code: null, signal: "SIGINT" })).toBe(130);
  });
});
