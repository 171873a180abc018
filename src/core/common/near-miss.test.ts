import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { describeNearMiss, findNearMisses, isOneEditAway } from "./near-miss.js";

/** Damerau-Levenshtein (optimal string alignment), written the textbook way, to check against. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

describe("isOneEditAway", () => {
  test.each([
    ["containr", "container", true],
    ["containers", "container", true],
    ["contianer", "container", true],
    ["Container", "container", true],
    ["container", "container", false],
    ["contaner", "container", true],
    ["cnotainre", "container", false],
    ["node-list", "nodelist", true],
    ["scripts", "script", true],
    ["", "a", true],
    ["ab", "ba", true],
    ["abc", "cba", false],
  ])("%s vs %s: %s", (a, b, expected) => {
    expect(isOneEditAway(a, b)).toBe(expected);
    expect(isOneEditAway(b, a)).toBe(expected);
  });

  test("agrees with the textbook distance", () => {
    const word = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 6 });
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(isOneEditAway(a, b)).toBe(distance(a, b) === 1);
      }),
    );
  });
});

describe("findNearMisses", () => {
  test("finds typos of the common options, with or without a value, `_` read as `-`", () => {
    expect(
      findNearMisses(["--containr=x", "--scirpt", "--node_list=n[1-2]", "--lr=0.1", "--container", "-containr", "x"]),
    ).toEqual([
      { token: "--containr=x", option: "container" },
      { token: "--scirpt", option: "script" },
      { token: "--node_list=n[1-2]", option: "nodelist" },
    ]);
  });

  test("says what happens to the token", () => {
    expect(describeNearMiss({ token: "--containr=x", option: "container" })).toBe(
      "`--containr=x` is passed to the script; did you mean `--container`?",
    );
  });
});
