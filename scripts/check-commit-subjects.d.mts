/** Types of scripts/check-commit-subjects.mjs, for the tests. */
export function subjectProblems(lines: readonly string[]): string[];
