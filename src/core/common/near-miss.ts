/**
 * Typos of our options that would otherwise reach the job script unnoticed (`--containr=x` is
 * an option of the script as far as the command line can tell). Pure.
 */

/** The options a typo of which is worth a word: the ones every run names. */
export const OFTEN_MISTYPED = ["container", "script", "dockopts", "datamnts", "envlist", "nodelist"] as const;

export interface NearMiss {
  /** The word as given, e.g. `--containr=x`. */
  readonly token: string;
  /** The option it is one edit away from, e.g. `container`. */
  readonly option: string;
}

/**
 * Whether `a` and `b` differ by exactly one insertion, deletion, substitution or swap of two
 * neighbouring characters (Damerau-Levenshtein distance 1).
 */
export function isOneEditAway(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  const restA = a.slice(start);
  const restB = b.slice(start);
  if (a.length === b.length) {
    // A substitution, or a swap of the first two differing characters.
    if (restA.slice(1) === restB.slice(1)) return true;
    return restA[0] === restB[1] && restA[1] === restB[0] && restA.slice(2) === restB.slice(2);
  }
  // An insertion into the shorter one.
  return a.length > b.length ? restA.slice(1) === restB : restB.slice(1) === restA;
}

/** Each `--name[=value]` among `tokens` whose name is one edit from an option in `options`. */
export function findNearMisses(tokens: readonly string[], options: readonly string[] = OFTEN_MISTYPED): NearMiss[] {
  const misses: NearMiss[] = [];
  for (const token of tokens) {
    if (!token.startsWith("--")) continue;
    const eq = token.indexOf("=");
    const name = (eq < 0 ? token.slice(2) : token.slice(2, eq)).replace(/_/g, "-");
    const option = options.find((candidate) => isOneEditAway(name, candidate));
    if (option !== undefined) misses.push({ token, option });
  }
  return misses;
}

/** The warning for one: the token still goes to the script. */
export function describeNearMiss(miss: NearMiss): string {
  return `\`${miss.token}\` is passed to the script; did you mean \`--${miss.option}\`?`;
}
