import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { UserError } from "../common/index.js";
import { compressHostlist, expandHostlist, MAX_HOSTLIST_NAMES, slurmLoopOrder } from "./hostlist.js";

// Expected values were taken from `scontrol show hostnames` (Slurm 22.05), except where a
// comment says the case is ours; test/cli/hostlist-scontrol.test.ts compares with scontrol live.
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
    ["rack[1-2]-ib", "rack1-ib rack2-ib"], // ours: 22.05 rejects text after the last bracket
    ["n[99999999999-100000000000]", "n99999999999 n100000000000"],
  ])("%s → %s", (expr, names) => expect(expandHostlist(expr).join(" ")).toBe(names));

  // Three or more groups: not left-to-right. The last group varies fastest, then the first,
  // the second, … up to the one before the last, which varies slowest.
  test.each([
    ["a[1-2]b[3-4]c[5-6]", "a1b3c5 a1b3c6 a2b3c5 a2b3c6 a1b4c5 a1b4c6 a2b4c5 a2b4c6"],
    ["[1-2][3-4][5-6]", "135 136 235 236 145 146 245 246"],
    ["a[1-2]b[3-5]c[5-6]", "a1b3c5 a1b3c6 a2b3c5 a2b3c6 a1b4c5 a1b4c6 a2b4c5 a2b4c6 a1b5c5 a1b5c6 a2b5c5 a2b5c6"],
    ["a[1-2]b[3-4]c[5-7]", "a1b3c5 a1b3c6 a1b3c7 a2b3c5 a2b3c6 a2b3c7 a1b4c5 a1b4c6 a1b4c7 a2b4c5 a2b4c6 a2b4c7"],
    ["x[1-3]y[1]z[1-2]", "x1y1z1 x1y1z2 x2y1z1 x2y1z2 x3y1z1 x3y1z2"],
    ["p[1-2]q[1-2]r[1-2],login1", "p1q1r1 p1q1r2 p2q1r1 p2q1r2 p1q2r1 p1q2r2 p2q2r1 p2q2r2 login1"],
    [
      "r[1,3]s[01-02]n[7,9-10]",
      "r1s01n7 r1s01n9 r1s01n10 r3s01n7 r3s01n9 r3s01n10 r1s02n7 r1s02n9 r1s02n10 r3s02n7 r3s02n9 r3s02n10",
    ],
    [
      "a[1-2]b[3-4]c[5-6]d[7-8]",
      "a1b3c5d7 a1b3c5d8 a2b3c5d7 a2b3c5d8 a1b4c5d7 a1b4c5d8 a2b4c5d7 a2b4c5d8 " +
        "a1b3c6d7 a1b3c6d8 a2b3c6d7 a2b3c6d8 a1b4c6d7 a1b4c6d8 a2b4c6d7 a2b4c6d8",
    ],
    // ours: the same order with text after the last bracket.
    ["a[1-2]b[3-4]c[5-6]-ib", "a1b3c5-ib a1b3c6-ib a2b3c5-ib a2b3c6-ib a1b4c5-ib a1b4c6-ib a2b4c5-ib a2b4c6-ib"],
  ])("%s → %s", (expr, names) => expect(expandHostlist(expr).join(" ")).toBe(names));

  test.each([
    [0, []],
    [1, [0]],
    [2, [0, 1]],
    [3, [1, 0, 2]],
    [5, [3, 2, 1, 0, 4]],
  ])("slurmLoopOrder(%d), slowest first, is %j", (groups, order) => expect(slurmLoopOrder(groups)).toEqual(order));

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
