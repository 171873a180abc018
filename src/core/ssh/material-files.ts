/**
 * The files of the user's srun-docker directory (~/.srun-docker), in the sets that are made
 * together, and what to do with a directory that lacks some: other subcommands (`asuser`, the
 * image files' cache) create the directory without them, and any order of subcommands must
 * work. A set that is wholly absent is made; half a set or a name that is not a plain file is
 * not srun-docker's doing, and is not guessed at.
 */

export const MATERIAL_SETS = {
  /**
   * The user's secret, the one file the directory holds: every job step's keys are derived
   * from it (io/channel/key.ts, io/files/job-keys.ts). Key files an older version left beside
   * it are not srun-docker's concern any more.
   */
  secret: ["secret"],
} as const;

export type MaterialSet = keyof typeof MATERIAL_SETS;

/** What `lstat` found under a name: a plain file, nothing, or something else (a link, a directory). */
export type EntryKind = "file" | "absent" | "other";

export type MaterialCheck =
  | { readonly kind: "complete" }
  | { readonly kind: "fill"; readonly sets: readonly MaterialSet[] }
  | { readonly kind: "broken"; readonly file: string; readonly problem: "missing" | "not a plain file" };

export function checkMaterialFiles(entries: Readonly<Record<string, EntryKind>>): MaterialCheck {
  const missing: MaterialSet[] = [];
  for (const [set, files] of Object.entries(MATERIAL_SETS) as [MaterialSet, readonly string[]][]) {
    const kinds = files.map((file) => entries[file] ?? "absent");
    const other = files.find((_, i) => kinds[i] === "other");
    if (other !== undefined) return { kind: "broken", file: other, problem: "not a plain file" };
    if (kinds.every((kind) => kind === "absent")) missing.push(set);
    else {
      const absent = files.find((_, i) => kinds[i] === "absent");
      if (absent !== undefined) return { kind: "broken", file: absent, problem: "missing" };
    }
  }
  return missing.length === 0 ? { kind: "complete" } : { kind: "fill", sets: missing };
}

/** Every file name of the directory's sets. */
export function materialFileNames(): string[] {
  return Object.values(MATERIAL_SETS).flat();
}
