import { type UserError, usageError } from "../common/index.js";

/**
 * Slurm hostlist expressions: `node[01-03,07],login1` ⇄ `node01 node02 node03 node07 login1`.
 *
 * Expansion follows `scontrol show hostnames` (Slurm 22.05): items separated by commas (or
 * whitespace, as Slurm allows), each item a cartesian product of its bracket groups in Slurm's
 * loop order (see `slurmLoopOrder`), zero padding taken from the width of each range's low
 * bound, duplicates and order kept. Where Slurm 22.05 is lenient (`a,,b`, `n[1-]`, `n[1-`,
 * `n[ 1-2]`) we reject, as newer Slurm does; unlike 22.05 we also accept literal text after
 * the last bracket (`rack[1-2]-ib`), which is the same product with the text appended.
 *
 * Compression (`compressHostlist`, like `scontrol show hostlist`) lives in hostlist-compress.ts.
 */

export { type CompressOptions, compareNatural, compressHostlist } from "./hostlist-compress.js";

/** Slurm refuses ranges of more than 64Ki hosts; we cap the whole expansion there too. */
export const MAX_HOSTLIST_NAMES = 65_536;

const HOSTLIST_HINT =
  "write hosts as a comma-separated list such as `node[01-04,07],gpu1` (ranges lo-hi with lo <= hi, digits only inside brackets)";

function hostlistError(expr: string, reason: string): UserError {
  return usageError(`invalid hostlist \`${expr}\`: ${reason}`, HOSTLIST_HINT);
}

interface Range {
  readonly lo: number;
  readonly hi: number;
  readonly width: number;
}

type Segment = { readonly literal: string } | { readonly ranges: readonly Range[] };

/** Expands a hostlist expression into host names (like `scontrol show hostnames`). */
export function expandHostlist(expr: string): string[] {
  const names: string[] = [];
  for (const item of splitItems(expr)) {
    const segments = parseItem(expr, item);
    const count = segments.reduce((n, segment) => n * ("ranges" in segment ? countRanges(segment.ranges) : 1), 1);
    if (names.length + count > MAX_HOSTLIST_NAMES) {
      throw hostlistError(expr, `expands to more than ${MAX_HOSTLIST_NAMES} names`);
    }
    names.push(...expandItem(segments));
  }
  return names;
}

/**
 * The order in which Slurm 22.05 varies an item's bracket groups, slowest first, as indexes
 * into the groups. It is not left-to-right: `_hostlist_create_bracketed` takes the item's last
 * group as its own ranges and everything before as a prefix, and `_push_range_list` expands
 * that prefix from its last group backwards, each group's loop nested inside the one after it.
 * So the loops run, outermost first, over groups n-1, n-2, …, 1 and then n: `a[1-2]b[3-4]c[5-6]`
 * gives a1b3c5 a1b3c6 a2b3c5 a2b3c6 a1b4c5 …  With one or two groups that is plain
 * left-to-right order.
 */
export function slurmLoopOrder(groups: number): number[] {
  if (groups < 2) return groups === 1 ? [0] : [];
  const prefixGroups = Array.from({ length: groups - 1 }, (_, i) => groups - 2 - i);
  return [...prefixGroups, groups - 1];
}

function expandItem(segments: readonly Segment[]): string[] {
  const groupIndexes = segments.flatMap((segment, index) => ("ranges" in segment ? [index] : []));
  let rows: string[][] = [segments.map((segment) => ("literal" in segment ? segment.literal : ""))];
  for (const group of slurmLoopOrder(groupIndexes.length)) {
    const index = groupIndexes[group] ?? 0;
    const segment = segments[index];
    const values = segment && "ranges" in segment ? expandRanges(segment.ranges) : [];
    rows = rows.flatMap((row) =>
      values.map((value) => {
        const next = [...row];
        next[index] = value;
        return next;
      }),
    );
  }
  return rows.map((row) => row.join(""));
}

function splitItems(expr: string): string[] {
  if (expr.trim() === "") throw hostlistError(expr, "it is empty");
  const items: string[] = [];
  let depth = 0;
  let current = "";
  const flushComma = (): void => {
    const words = current.trim();
    if (words === "")
      throw hostlistError(expr, "it has an empty item (two commas in a row, or a leading or trailing comma)");
    items.push(...words.split(/\s+/));
    current = "";
  };
  for (const ch of expr) {
    if (ch === "[") {
      if (depth > 0) throw hostlistError(expr, "brackets cannot be nested");
      depth = 1;
    } else if (ch === "]") {
      if (depth === 0) throw hostlistError(expr, "it has a `]` without a matching `[`");
      depth = 0;
    } else if (depth > 0 && /\s/.test(ch)) {
      throw hostlistError(expr, "whitespace is not allowed inside brackets");
    } else if (depth === 0 && ch === ",") {
      flushComma();
      continue;
    }
    current += ch;
  }
  if (depth > 0) throw hostlistError(expr, "it has a `[` without a matching `]`");
  flushComma();
  return items;
}

function parseItem(expr: string, item: string): Segment[] {
  const segments: Segment[] = [];
  const pattern = /\[([^\]]*)\]|[^[]+/g;
  for (const match of item.matchAll(pattern)) {
    const inside = match[1];
    segments.push(inside === undefined ? { literal: match[0] } : { ranges: parseRanges(expr, inside) });
  }
  return segments;
}

function parseRanges(expr: string, inside: string): Range[] {
  return inside.split(",").map((text) => {
    const match = /^(\d+)(?:-(\d+))?$/.exec(text);
    if (!match) {
      throw hostlistError(expr, text === "" ? "it has an empty range" : `\`${text}\` is not a number or a lo-hi range`);
    }
    const loText = match[1] ?? "";
    const lo = toNumber(expr, loText);
    const hi = match[2] === undefined ? lo : toNumber(expr, match[2]);
    if (hi < lo) throw hostlistError(expr, `range \`${text}\` ends before it starts`);
    if (hi - lo + 1 > MAX_HOSTLIST_NAMES) {
      throw hostlistError(expr, `range \`${text}\` has more than ${MAX_HOSTLIST_NAMES} names`);
    }
    return { lo, hi, width: loText.length };
  });
}

function toNumber(expr: string, digits: string): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) throw hostlistError(expr, `\`${digits}\` is too large`);
  return value;
}

function countRanges(ranges: readonly Range[]): number {
  return ranges.reduce((n, { lo, hi }) => n + hi - lo + 1, 0);
}

function expandRanges(ranges: readonly Range[]): string[] {
  const parts: string[] = [];
  for (const { lo, hi, width } of ranges) {
    for (let n = lo; n <= hi; n++) parts.push(String(n).padStart(width, "0"));
  }
  return parts;
}
