import { describe, expect, it } from "vitest";
import { describeRendezvousFailure } from "./rendezvous-failure.js";

describe("describeRendezvousFailure", () => {
  it("names each missing node and why", () => {
    const text = describeRendezvousFailure({
      reason: "deadline",
      elapsedMs: 30_000,
      missing: [
        { node: "n2", state: "never-connected" },
        { node: "n3", state: "connected-not-ready" },
        { node: "n4", state: "failed", message: "image missing" },
        { node: "n5", state: "disconnected", reason: "connection closed" },
      ],
    });
    expect(text).toBe(
      [
        "not every node was ready within 30.0 s",
        "  n2: never connected",
        "  n3: connected but never reported ready",
        "  n4: reported failure: image missing",
        "  n5: disconnected before the job ended (connection closed)",
      ].join("\n"),
    );
  });
});
