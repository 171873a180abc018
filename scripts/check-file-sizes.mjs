#!/usr/bin/env node
// One concern per file: source and scripts stay under MAX_LINES lines each (tests may be
// longer). Part of `npm run lint`; prints each file over the limit and exits 1. Import
// statements are not counted: what a file takes from a feature's index.ts comes as one merged
// import, which the formatter writes one name a line, and that says nothing of the file's size.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const MAX_LINES = 250;
const ROOTS = ["src", "scripts"];
const root = path.resolve(import.meta.dirname, "..");

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (/\.(ts|mjs|sh)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) yield file;
  }
}

/** Lines of a file, less those of its import statements. */
function countLines(text) {
  let lines = 0;
  let inImport = false;
  for (const line of text.split("\n").slice(0, -1)) {
    if (!inImport && /^import[\s{]/.test(line)) inImport = true;
    if (inImport) {
      if (/(^import\s+["']|\bfrom\s+["'][^"']+["'];?\s*$)/.test(line)) inImport = false;
    } else {
      lines += 1;
    }
  }
  return lines;
}

const over = [];
for (const dir of ROOTS) {
  for (const file of sources(path.join(root, dir))) {
    const lines = countLines(readFileSync(file, "utf8"));
    if (lines > MAX_LINES) over.push(`${path.relative(root, file)}: ${lines} lines`);
  }
}
if (over.length > 0) {
  console.error(`files over ${MAX_LINES} lines (split them by concern):\n  ${over.join("\n  ")}`);
  process.exit(1);
}
