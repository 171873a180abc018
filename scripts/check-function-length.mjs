#!/usr/bin/env node
// Functions, not files, are short: every function in src/ and scripts/ (tests excluded) fits
// on a screen, MAX_LINES lines. A file holds one concept whole, however long; a function that
// grows past a screen is a closure doing several jobs, and wants a state union plus small named
// handlers (see commands/run/node-container.ts). Part of `npm run lint`; prints each function
// over the limit and exits 1.
//
// How a function is measured: the lines from its first to its last, nested closures included
// (a factory that returns twenty closures over shared `let`s is one long function), less what
// is a table rather than logic. Exempt, because a reader scans them as a table, row by row:
//   - a data literal: an object or array literal with no function inside it (option specs,
//     message catalogues, argv fragments). It counts as one line.
//   - a state table: a `switch` whose every case is at most two statements and ends the case
//     (`case "x": return onX(state, event);`). It counts as one line per case.
// Nothing else is exempt: not template strings, not long argument lists, not type literals.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const MAX_LINES = 60;
const ROOTS = ["src", "scripts"];
const root = path.resolve(import.meta.dirname, "..");

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (/\.(ts|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) yield file;
  }
}

function isFunctionLike(node) {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

function containsFunction(node) {
  let found = false;
  const visit = (child) => {
    if (found) return;
    if (isFunctionLike(child)) found = true;
    else ts.forEachChild(child, visit);
  };
  ts.forEachChild(node, visit);
  return found;
}

function isDataLiteral(node) {
  return (ts.isObjectLiteralExpression(node) || ts.isArrayLiteralExpression(node)) && !containsFunction(node);
}

function endsCase(statement) {
  return (
    ts.isReturnStatement(statement) ||
    ts.isThrowStatement(statement) ||
    ts.isBreakStatement(statement) ||
    ts.isContinueStatement(statement)
  );
}

function isStateTable(node) {
  if (!ts.isSwitchStatement(node)) return false;
  return node.caseBlock.clauses.every((clause) => {
    const body = clause.statements;
    if (body.length === 0) return true; // falls through to the next case
    return body.length <= 2 && endsCase(body[body.length - 1]);
  });
}

function lineSpan(file, node) {
  const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
  const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
  return last - first + 1;
}

// Lines of `node` that tables take beyond what they count as.
function tableLines(file, node) {
  let saved = 0;
  const visit = (child) => {
    if (isDataLiteral(child)) saved += lineSpan(file, child) - 1;
    else if (isStateTable(child)) saved += lineSpan(file, child) - child.caseBlock.clauses.length;
    else ts.forEachChild(child, visit);
  };
  ts.forEachChild(node, visit);
  return saved;
}

function nameOf(node) {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  for (let outer = parent; outer !== undefined; outer = outer.parent) {
    if (isFunctionLike(outer)) return `<function in ${nameOf(outer)}>`;
  }
  return "<anonymous function>";
}

export function longFunctions(fileName, text, maxLines = MAX_LINES) {
  const kind = fileName.endsWith(".mjs") ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const found = [];
  const visit = (node) => {
    if (isFunctionLike(node) && node.body) {
      const lines = lineSpan(file, node) - tableLines(file, node.body);
      if (lines > maxLines) found.push({ name: nameOf(node), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const over = [];
for (const dir of ROOTS) {
  for (const file of sources(path.join(root, dir))) {
    const relative = path.relative(root, file);
    for (const { name, lines } of longFunctions(file, readFileSync(file, "utf8"))) {
      over.push(`${relative}: ${name} (${lines} lines)`);
    }
  }
}
if (process.argv.includes("--list")) for (const line of over) console.log(line);
if (over.length > 0) {
  console.error(`functions over ${MAX_LINES} lines (split them into named handlers):\n  ${over.join("\n  ")}`);
  process.exit(1);
}
