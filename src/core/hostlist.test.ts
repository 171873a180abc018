import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { UserError } from "./errors.js";
import { compareNatural, compressHostlist, expandHostlist, MAX_HOSTLIST_NAMES } from "./hostlist.js";

// Expected values were taken from `scontrol show hostnames|hostlist|hostlistsorted` (Slurm 22.05).
describe("expandHostlist", () => {
  test.each([
    ["node1", "node1"],
    ["node[1-3,5]", "node1 node2 node3 node5"],
    ["rack[1-2]-gpu[01-03]", "rack1-gpu01 rack1-gpu02 rack1-gpu03 rack2-gpu01 rack2-gpu02 rack2-gpu03"],
    ["node[01-10]", "node01 node02 node03 node04 node05 node06 node07 node08 node09 node10"],
    ["a,a,b", "a a b"],
    ["node[9-11]", "node9 node10 node11"],
    ["n[001-3]", "n001 n002 n003"],
    ["n[1-03]", "n1 n2 n3"],
    ["n[1-2][3-4]", "n13 n14 n23 n24"],
    ["n[5,3,1]", "n5 n3 n1"],
    ["x[1-2],y", "x1 x2 y"],
    ["[1-2]", "1 2"],
    ["n[1-2]x[1-2]", "n1x1 n1x2 n2x1 n2x2"],
    ["a b", "a b"],
    ["n[1-2] m3", "n1 n2 m3"],
    ["  n[1-2] ", "n1 n2"],
    ["rack[1-2]-ib", "rack1-ib rack2-ib"],
    ["n[99999999999-100000000000]", "n99999999999 n100000000000"],
  ])("%s → %s", (expr, names) => expect(expandHostlist(expr).join(" ")).toBe(names));

  test.each([
    ["", "it is empty"],
    ["   ", "it is empty"],
    ["n[3-1]", "ends before it starts"],
    ["n[]", "empty range"],
    ["n[1-", "without a matching `]`"],
    ["n[1-2", "without a matching `]`"],
    ["n1]", "without a matching `[`"],
    ["n[1-2]]", "without a matching `[`"],
    ["n[[1-2]", "cannot be nested"],
    ["n[a-b]", "`a-b` is not a number"],
    ["n[1,,2]", "empty range"],
    ["n[-2]", "`-2` is not a number"],
    ["n[1-]", "`1-` is not a number"],
    ["n[ 1-2]", "whitespace"],
    ["a,,b", "empty item"],
    [",a", "empty item"],
    ["a,", "empty item"],
    ["n[99999999999999999999]", "too large"],
    ["n[1-70000]", `more than ${MAX_HOSTLIST_NAMES}`],
    ["n[1-300][1-300]", `more than ${MAX_HOSTLIST_NAMES}`],
  ])("%j is rejected: %s", (expr, reason) => {
    const error = captureError(() => expandHostlist(expr));
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(`\`${expr}\``);
    expect(error.message).toContain(reason);
    expect(error.hint).toContain("node[01-04,07]");
  });
});

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

const hostName = fc
  .tuple(
    fc.constantFrom("n", "node", "rack1-gpu", "", "x-"),
    fc.nat({ max: 120 }),
    fc.constantFrom(0, 2, 3),
    fc.boolean(),
  )
  .map(([prefix, n, width, numeric]) => (numeric || prefix === "" ? prefix + String(n).padStart(width, "0") : prefix));

describe("properties", () => {
  test("expand(compress(names)) gives back the names, in order, duplicates kept", () => {
    fc.assert(
      fc.property(fc.array(hostName, { minLength: 1, maxLength: 30 }), (names) => {
        expect(expandHostlist(compressHostlist(names))).toEqual(names);
      }),
    );
  });

  test("sorted compression expands to the same set of names", () => {
    fc.assert(
      fc.property(fc.array(hostName, { minLength: 1, maxLength: 30 }), (names) => {
        const back = expandHostlist(compressHostlist(names, { sort: true }));
        expect([...back].sort()).toEqual([...new Set(names)].sort());
      }),
    );
  });

  test("compress(expand(expr)) expands to the same names", () => {
    const range = fc
      .tuple(fc.nat({ max: 50 }), fc.nat({ max: 20 }), fc.constantFrom(1, 2, 3))
      .map(([lo, span, width]) => `${String(lo).padStart(width, "0")}-${lo + span}`);
    const item = fc
      .tuple(fc.constantFrom("n", "gpu", "r1-"), fc.array(range, { minLength: 1, maxLength: 3 }))
      .map(([prefix, ranges]) => `${prefix}[${ranges.join(",")}]`);
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 4 }), (items) => {
        const names = expandHostlist(items.join(","));
        expect(expandHostlist(compressHostlist(names))).toEqual(names);
      }),
    );
  });

  test("garbage never throws anything but a UserError", () => {
    const garbage = fc.oneof(fc.string(), fc.stringMatching(/^[\w[\]\-, ]{0,30}$/));
    fc.assert(
      fc.property(garbage, (text) => {
        try {
          expandHostlist(text);
        } catch (error) {
          expect(error).toBeInstanceOf(UserError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

function captureError(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error("expected a UserError");
}
