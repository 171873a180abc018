/** Types of scripts/figures.mjs, for the tests. */
export type Figure = [name: string, value: string];
export function parseFigures(output: string): Figure[];
export function applyFigures(text: string, figures: readonly Figure[], measured: string): string;
export function stamp(cwd: string): string;
export function writeFigures(files: readonly string[], figures: readonly Figure[], measured: string): string[];
export function replaceOutputBlock(text: string, name: string, body: string): string;
export function printedTables(print: () => unknown): Promise<string>;
export function writeBenchBlock(root: string, name: string, tables: string, command: string): void;
