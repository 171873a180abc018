import { describe, expect, test } from "vitest";
import { compareNatural, compressHostlist } from "./hostlist-compress.js";

// Expected values were taken from `scontrol show hostlist|hostlistsorted` (Slurm 22.05), except
// where a comment says the case is ours; test/cli/hostlist-scontrol.test.ts compares live.
describe("compressHostlist", () => {
  test.each([
    ["n1", "n1"],
    ["n1,n2", "n[1-2]"],
    ["n3,n1,n2,n1", "n[3,1-2,1]"],
    ["n01,n1,n2,n02", "n[01,1-2,02]"],
    ["rack1-gpu01,rack1-gpu02,rack2-gpu01", "rack1-gpu[01-02],rack2-gpu01"],
    ["n1x,n2x", "n1x,n2x"],
    ["b,a,n10,n9,n1", "b,a,n[10,9,1]"],
    ["n9,n10,n11", "n[9-11]"],
    ["n09,n10,n11", "n[09-11]"],
    ["n8,n09,n010", "n[8,09,010]"],
    ["x,x1,x01", "x,x[1,01]"],
    ["n0,n00,n000", "n[0,00,000]"],
    ["n1,m1,n2,m2", "n1,m1,n2,m2"],
    ["1,2,3", "[1-3]"],
    ["n-1,n-2", "n-[1-2]"],
    ["n99,n100", "n[99-100]"],
    ["n08,n9,n10", "n[08,9-10]"],
    ["a,a", "a,a"],
    ["n1,n2,x,n3", "n[1-2],x,n3"],
  ])("%s → %s", (names, expr) => expect(compressHostlist(names.split(","))).toBe(expr));

  test.each([
    ["b,a,n10,n9,n1", "a,b,n[1,9-10]"],
    ["n1,m1,n2,m2", "m[1-2],n[1-2]"],
    ["n01,n1,n2,n02", "n[1-2,01-02]"],
    ["n100,n99,n101", "n[99-101]"],
    ["n08,n9,n10", "n[9-10,08]"],
    ["B,a,A,b", "A,B,a,b"],
    ["ab1,a1,a", "a,a1,ab1"],
    ["rack10-gpu1,rack2-gpu1", "rack2-gpu1,rack10-gpu1"],
    ["n1,n001,n01", "n[1,01,001]"],
    // ours: sorted, duplicates go; 22.05 keeps them (`n[1,1-2,2]`, `n,n,n1`).
    ["n2,n1,n2,n1", "n[1-2]"],
    ["n,n1,n", "n,n1"],
  ])("sorted: %s → %s", (names, expr) => expect(compressHostlist(names.split(","), { sort: true })).toBe(expr));

  test("empty list gives an empty expression", () => expect(compressHostlist([])).toBe(""));
});

test.each([
  ["a", "b", -1],
  ["n9", "n10", -1],
  ["n10", "n9", 1],
  ["rack2-x", "rack10-x", -1],
  ["n", "n", 0],
])("compareNatural(%s, %s) has sign %d", (a, b, sign) => expect(Math.sign(compareNatural(a, b))).toBe(sign));
