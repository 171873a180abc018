#!/usr/bin/env node
// `npm run soak [-- FILE... -t PATTERN]`: the teardown cases, many runs each, on the test cluster
// (strict profile, as root, holding the e2e lock), then the figures they print into the marked
// blocks of README.md (scripts/figures.mjs). Without arguments it runs every teardown case;
// given test files or a -t filter, only those, and only their rows change. `--from LOG` writes
// the figures of an earlier run's saved output instead of running anything.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseFigures, stamp, writeFigures } from "./figures.mjs";

const root = path.resolve(import.meta.dirname, "..");
const FILES = ["test/e2e/teardown.test.ts", "test/e2e/podman.test.ts", "test/e2e/job-life.test.ts"];
const DOCS = ["README.md"];

const args = process.argv.slice(2);

/** Writes the figures found in a run's output into the docs, and says what changed. */
function record(output) {
  const figures = parseFigures(output);
  const changed = writeFigures(
    DOCS.map((f) => path.join(root, f)),
    figures,
    stamp(root),
  );
  const names = changed.map((f) => path.relative(root, f)).join(", ") || "nothing";
  console.log(`soak: ${figures.length} figure(s); updated ${names}`);
}

if (args[0] === "--from") {
  if (args[1] === undefined) throw new Error("usage: node scripts/soak.mjs --from LOG");
  record(readFileSync(args[1], "utf8"));
  process.exit(0);
}

const files = args.filter((a) => a.endsWith(".test.ts"));
const rest = args.filter((a) => !a.endsWith(".test.ts"));
const filter = rest.includes("-t") ? rest : [...rest, "-t", "teardown"];
const vitestArgs = ["vitest", "run", "--project", "e2e", ...(files.length > 0 ? files : FILES), ...filter];

const child = spawn("npx", vitestArgs, {
  cwd: root,
  env: { ...process.env, SDTC_SOAK: "1" },
  stdio: ["ignore", "pipe", "inherit"],
});
let output = "";
child.stdout.on("data", (chunk) => {
  output += chunk;
  process.stdout.write(chunk);
});
child.on("close", (code) => {
  record(output);
  process.exit(code ?? 1);
});
