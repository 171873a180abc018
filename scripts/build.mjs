// Bundles the CLI into one self-contained CommonJS file with a node shebang (what the npm
// package's bin runs), then wraps that file into dist/srun-docker, a single executable with
// Node inside: the file users drop into ~/bin on a shared home for nodes without Node.js.
// src/first-statement.js goes first, before any module: it must run before anything else can.
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { build } from "esbuild";
import { buildSea } from "./build-sea.mjs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const outfile = "dist/srun-docker.cjs";

/**
 * The commit `--version` names: SRUN_DOCKER_COMMIT where the source is no git checkout (a source
 * archive), else HEAD, marked `-dirty` when tracked files differ from it.
 */
function sourceCommit() {
  if (process.env.SRUN_DOCKER_COMMIT) return process.env.SRUN_DOCKER_COMMIT;
  const git = (...args) => spawnSync("git", args, { encoding: "utf8" });
  const head = git("rev-parse", "--short=12", "HEAD");
  if (head.status !== 0) return "unknown";
  const dirty = git("status", "--porcelain", "--untracked-files=no").stdout.trim() !== "";
  return `${head.stdout.trim()}${dirty ? "-dirty" : ""}`;
}
const firstStatement = readFileSync(new URL("../src/first-statement.js", import.meta.url), "utf8");

await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  banner: { js: `#!/usr/bin/env node\n${firstStatement}` },
  define: { SRUN_DOCKER_VERSION: JSON.stringify(version), SRUN_DOCKER_COMMIT: JSON.stringify(sourceCommit()) },
  minify: true,
  keepNames: true,
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
buildSea({ outfile: "dist/srun-docker" });
