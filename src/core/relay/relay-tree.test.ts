import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { relayChildRanks, relayDepth, relayParentRank, relayParents } from "./relay-tree.js";

describe("the relay tree", () => {
  test.each([
    [0, undefined],
    [1, 0],
    [2, 0],
    [3, 1],
    [4, 1],
    [5, 2],
    [6, 2],
    [7, 3],
  ])("rank %i gets it from %s", (rank, parent) => {
    expect(relayParentRank(rank)).toBe(parent);
  });

  test("four nodes: node1 serves node2 and node3, node2 serves node4", () => {
    expect([...relayParents(["node1", "node2", "node3", "node4"])]).toEqual([
      ["node2", "node1"],
      ["node3", "node1"],
      ["node4", "node2"],
    ]);
    expect(relayChildRanks(0, 4)).toEqual([1, 2]);
    expect(relayChildRanks(1, 4)).toEqual([3]);
    expect(relayChildRanks(2, 4)).toEqual([]);
  });

  test("any size: every node but the root has one parent of lower rank, no node has more than two children, the depth bounds every path", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), (size) => {
        const children = new Map<number, number>();
        let deepest = 0;
        for (let rank = 1; rank < size; rank++) {
          const parent = relayParentRank(rank) as number;
          if (parent >= rank || !relayChildRanks(parent, size).includes(rank)) return false;
          children.set(parent, (children.get(parent) ?? 0) + 1);
          let hops = 0;
          for (let at: number | undefined = rank; at !== 0 && at !== undefined; at = relayParentRank(at)) hops++;
          deepest = Math.max(deepest, hops);
        }
        return [...children.values()].every((count) => count <= 2) && deepest === relayDepth(size);
      }),
      { numRuns: 100 },
    );
  });

  test("a rank that is no rank is a bug", () => {
    expect(() => relayParentRank(-1)).toThrow(/internal error/);
  });
});
