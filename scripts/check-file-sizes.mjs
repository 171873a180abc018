#!/usr/bin/env node
// One concern per file: source and scripts stay under MAX_LINES lines each (tests may be
// longer). Part of `npm run lint`; prints each file over the limit and exits 1.
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

const over = [];
for (const dir of ROOTS) {
  for (const file of sources(path.join(root, dir))) {
    const lines = readFileSync(file, "utf8").split("\n").length - 1;
    if (lines > MAX_LINES) over.push(`${path.relative(root, file)}: ${lines} lines`);
  }
}
if (over.length > 0) {
  console.error(`files over ${MAX_LINES} lines (split them by concern):\n  ${over.join("\n  ")}`);
  process.exit(1);
}
