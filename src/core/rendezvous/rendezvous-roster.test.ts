import { expect, test } from "vitest";
import { createRoster, refuseHello } from "./rendezvous-roster.js";

const roster = createRoster<string>(["n1", "n2", "n3"]);
roster.set("n2", { kind: "authenticated", conn: "c2", rank: 2 });
roster.set("n3", { kind: "gone", reason: "closed" });

// An authentic hello takes its node's place once, and only a place the job step has.
test.each([
  ["a waiting node", "n1", { rank: 1 }, undefined],
  ["a malformed hello", "n1", undefined, "node n1 sent a malformed hello"],
  ["a node not in the step", "n9", { rank: 9 }, "node n9 is not part of this job step"],
  ["a node that joined", "n2", { rank: 2 }, "node n2 already joined this job step"],
  ["a node that left", "n3", { rank: 3 }, "node n3 already joined this job step"],
] as const)("%s: %s", (_name, node, about, expected) => {
  expect(refuseHello(roster, node, about)).toBe(expected);
});
