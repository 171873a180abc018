// Figures in the docs come from the commands that measure them. An e2e test prints a figure as
// `FIGURE | name | value`; `npm run soak` (scripts/soak.mjs) and `npm run bench` collect those
// lines and rewrite the marked blocks of README.md and docs/*.md with them, so no figure there
// is copied by hand. A block is a Markdown table between two markers:
//
//   <!-- figures: teardown -->      rows whose figure name starts with "teardown"
//   | case | figure | measured |
//   ...
//   <!-- /figures -->
//
// A run updates the rows of the figures it printed and keeps the others, each with the date
// and commit that measured it.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";

const LINE = /^FIGURE \| (.+?) \| (.+)$/;
const BLOCK = /(<!-- figures: (\S+) -->\n)([\s\S]*?)(<!-- \/figures -->)/g;
const HEADER = "| case | figure | measured |\n|---|---|---|\n";

/** The `FIGURE | name | value` lines of a test run's output, as [name, value]. */
export function parseFigures(output) {
  const found = [];
  for (const line of output.split("\n")) {
    // vitest colours its output even into a pipe: a figure's line may start with an escape.
    const m = LINE.exec(stripVTControlCharacters(line).trim());
    if (m) found.push([m[1], m[2]]);
  }
  return found;
}

const cell = (text) => text.replaceAll("|", "\\|");
const uncell = (text) => text.replaceAll("\\|", "|");

/** A block's rows as [name, value, measured], from its table. */
function readRows(table) {
  return table
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| case |"))
    .map((line) => line.slice(2, -2).split(" | ").map(uncell));
}

/** `text` with every marked block updated from `figures`, stamped `measured`. */
export function applyFigures(text, figures, measured) {
  return text.replace(BLOCK, (_all, open, prefix, table, close) => {
    const rows = new Map(readRows(table).map(([name, value, when]) => [name, [value, when]]));
    for (const [name, value] of figures) {
      if (name.startsWith(prefix)) rows.set(name, [value, measured]);
    }
    const body = [...rows].map(([name, [value, when]]) => `| ${cell(name)} | ${cell(value)} | ${when} |\n`).join("");
    return `${open}${HEADER}${body}${close}`;
  });
}

/** Today's date and the commit, the stamp of a measurement. */
export function stamp(cwd) {
  const git = (...args) => execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
  // A measurement of code that is not committed names the commit it started from, and says so.
  const dirty = git("status", "--porcelain", "--untracked-files=no") === "" ? "" : " with changes";
  return `${new Date().toISOString().slice(0, 10)}, ${git("rev-parse", "--short", "HEAD")}${dirty}`;
}

/** Rewrites the marked blocks of `files` with `figures`; the files that changed. */
export function writeFigures(files, figures, measured) {
  const changed = [];
  for (const file of files) {
    const before = readFileSync(file, "utf8");
    const after = applyFigures(before, figures, measured);
    if (after !== before) {
      writeFileSync(file, after);
      changed.push(file);
    }
  }
  return changed;
}

/**
 * `text` with the block `<!-- output: NAME -->` ... `<!-- /output -->` holding `body`: a bench
 * writes its printed tables there, whole. Throws when the block is missing.
 */
export function replaceOutputBlock(text, name, body) {
  const open = `<!-- output: ${name} -->\n`;
  const start = text.indexOf(open);
  const end = text.indexOf("<!-- /output -->", start);
  if (start === -1 || end === -1) throw new Error(`no block \`${open.trim()}\` to write the output into`);
  return `${text.slice(0, start + open.length)}${body.trimEnd()}\n${text.slice(end)}`;
}

/** Runs `print`, which writes with console.log, and returns what it printed before its JSON. */
export async function printedTables(print) {
  const lines = [];
  const log = console.log;
  console.log = (...args) => {
    lines.push(args.join(" "));
    log(...args);
  };
  try {
    await print();
  } finally {
    console.log = log;
  }
  const text = lines.join("\n");
  const json = text.search(/^(\{|```json)/m);
  return json === -1 ? text : text.slice(0, json);
}

/** Writes a bench's printed tables into docs/benchmark.md, with the command and the stamp. */
export function writeBenchBlock(root, name, tables, command) {
  const file = `${root}/docs/benchmark.md`;
  const body = `${tables.trimEnd()}\n\n(Written by \`${command}\`, ${stamp(root)}.)\n`;
  writeFileSync(file, replaceOutputBlock(readFileSync(file, "utf8"), name, body));
  console.error(`bench: wrote its tables into docs/benchmark.md (${name})`);
}
