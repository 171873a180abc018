/**
 * Compression follows `scontrol show hostlist`: order kept, duplicates kept, a name joins the
 * previous range only when it has the same prefix, the next number and a compatible width.
 * Only the trailing number of a name is compressed (`a1b3c5,a1b3c6` → `a1b3c[5-6]`), as Slurm does.
 */

export interface CompressOptions {
  /** Sort (natural order, as `scontrol show hostlistsorted`) and drop duplicate names (22.05 keeps them). */
  readonly sort?: boolean;
}

interface HostRange {
  readonly prefix: string;
  /** undefined for a name without a numeric suffix. */
  readonly numeric: { lo: number; hi: number; width: number } | undefined;
}

/** Compresses host names into a hostlist expression (like `scontrol show hostlist`). */
export function compressHostlist(names: readonly string[], options: CompressOptions = {}): string {
  const input = options.sort === true ? [...new Set(names)] : names;
  let ranges = pushAll(input);
  if (options.sort === true) ranges = collapse([...ranges].sort(compareRanges));
  return renderRanges(ranges);
}

function splitName(name: string): HostRange {
  const match = /^(.*?)(\d+)$/s.exec(name);
  const prefix = match?.[1];
  const digits = match?.[2];
  if (prefix === undefined || digits === undefined || !Number.isSafeInteger(Number(digits))) {
    return { prefix: name, numeric: undefined };
  }
  const n = Number(digits);
  return { prefix, numeric: { lo: n, hi: n, width: digits.length } };
}

function pushAll(names: readonly string[]): HostRange[] {
  const ranges: HostRange[] = [];
  for (const name of names) {
    const next = splitName(name);
    const tail = ranges.at(-1);
    if (!tail || !joinInto(tail, next)) ranges.push(next);
  }
  return ranges;
}

/** Extends `tail` with `next` when `next` continues it (mutates `tail.numeric`). */
function joinInto(tail: HostRange, next: HostRange): boolean {
  const a = tail.numeric;
  const b = next.numeric;
  if (!a || !b || tail.prefix !== next.prefix || b.lo !== a.hi + 1) return false;
  const width = commonWidth(a.lo, a.width, b.lo, b.width);
  if (width === undefined) return false;
  a.hi = b.hi;
  a.width = width;
  return true;
}

function leadingZeros(n: number, width: number): number {
  return Math.max(0, width - String(n).length);
}

/**
 * The width both numbers print correctly with, as Slurm decides it: `9` and `10` share width 1
 * (`[9-10]`), `099` and `100` width 3, but `08` and `9` none (`08` needs 2, `9` cannot have 2).
 */
function commonWidth(n: number, wn: number, m: number, wm: number): number | undefined {
  if (wn === wm) return wn;
  const nStable = leadingZeros(n, wn) === leadingZeros(n, wm);
  const mStable = leadingZeros(m, wm) === leadingZeros(m, wn);
  if (!nStable && mStable) return wn;
  if (nStable && !mStable) return wm;
  return nStable ? wm : undefined;
}

function compareRanges(a: HostRange, b: HostRange): number {
  const byPrefix = compareNatural(a.prefix, b.prefix);
  if (byPrefix !== 0) return byPrefix;
  if (!a.numeric || !b.numeric) return (a.numeric ? 1 : 0) - (b.numeric ? 1 : 0);
  const { lo: n, width: wn } = a.numeric;
  const { lo: m, width: wm } = b.numeric;
  return commonWidth(n, wn, m, wm) === undefined ? wn - wm : n - m;
}

/** strnatcmp-like: digit runs compare by value, everything else by character code. */
export function compareNatural(a: string, b: string): number {
  const chunks = (s: string): string[] => s.match(/\d+|\D+/g) ?? [];
  const left = chunks(a);
  const right = chunks(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const x = left[i] ?? "";
    const y = right[i] ?? "";
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const diff = Number(x) - Number(y);
      if (diff !== 0) return diff;
    }
    return x < y ? -1 : 1;
  }
  return left.length - right.length;
}

function collapse(sorted: HostRange[]): HostRange[] {
  const out: HostRange[] = [];
  for (const range of sorted) {
    const copy: HostRange = { prefix: range.prefix, numeric: range.numeric && { ...range.numeric } };
    const tail = out.at(-1);
    if (!tail || !joinInto(tail, copy)) out.push(copy);
  }
  return out;
}

function renderRanges(ranges: readonly HostRange[]): string {
  const groups: HostRange[][] = [];
  for (const range of ranges) {
    const group = groups.at(-1);
    const head = group?.[0];
    if (group && head?.numeric && range.numeric && head.prefix === range.prefix) group.push(range);
    else groups.push([range]);
  }
  return groups.map(renderGroup).join(",");
}

function renderGroup(group: readonly HostRange[]): string {
  const first = group[0];
  if (!first) return "";
  const only = group.length === 1 ? first.numeric : undefined;
  if (!first.numeric) return first.prefix;
  const pad = (n: number, width: number): string => String(n).padStart(width, "0");
  if (only && only.lo === only.hi) return first.prefix + pad(only.lo, only.width);
  const parts = group.map(({ numeric }) => {
    const { lo, hi, width } = numeric ?? { lo: 0, hi: 0, width: 0 };
    return lo === hi ? pad(lo, width) : `${pad(lo, width)}-${pad(hi, width)}`;
  });
  return `${first.prefix}[${parts.join(",")}]`;
}
