#!/usr/bin/env node
// Commit style (CONTRIBUTING.md): a subject of at most 72 characters, in the imperative, then a
// blank line and the why in the body. This checks the length and the blank line of every commit
// since BASE, the last commit before the rule was enforced; older history keeps its long
// subjects. Prints each offender and exits 1. `npm run lint:commits`; CI runs it.
import { execFileSync } from "node:child_process";
import path from "node:path";

const BASE = "92e858135e0ac634b317b89849b7176ffc046eb0";
const MAX = 72;
const root = path.resolve(import.meta.dirname, "..");
const git = (...args) =>
  execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });

function commitsSinceBase() {
  try {
    git("rev-parse", "--is-inside-work-tree");
  } catch {
    console.log("check-commit-subjects: not a git checkout, no commits to check");
    process.exit(0);
  }
  let range = `${BASE}..HEAD`;
  try {
    git("cat-file", "-e", `${BASE}^{commit}`);
  } catch {
    // A shallow clone cut its history after the base: every commit it holds is a newer one.
    if (git("rev-parse", "--is-shallow-repository").trim() !== "true") {
      console.error(`check-commit-subjects: base commit ${BASE.slice(0, 12)} is not in this clone's history`);
      process.exit(1);
    }
    range = "HEAD";
  }
  // %x00 ends each message, so bodies may hold any line.
  return git("log", "--format=%h%x01%B%x00", range)
    .split("\0")
    .map((entry) => entry.replace(/^\n/, ""))
    .filter((entry) => entry !== "")
    .map((entry) => {
      const [hash, message] = entry.split("\x01");
      return { hash, lines: message.split("\n") };
    });
}

/** What is wrong with one commit message, if anything. */
export function subjectProblems(lines) {
  const [subject = "", second = ""] = lines;
  const problems = [];
  if (subject.length > MAX) problems.push(`subject is ${subject.length} characters (at most ${MAX})`);
  if (subject.trim() === "") problems.push("empty subject");
  if (second.trim() !== "") problems.push("no blank line after the subject");
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bad = commitsSinceBase().flatMap(({ hash, lines }) =>
    subjectProblems(lines).map((p) => `${hash} ${p}: ${lines[0]}`),
  );
  if (bad.length > 0) {
    console.error(`commit messages that break the style in CONTRIBUTING.md:\n  ${bad.join("\n  ")}`);
    console.error("hint: git rebase -i to reword them (a short imperative subject, the why in the body)");
    process.exit(1);
  }
}
