// Bundles the CLI into one self-contained CommonJS file with a node shebang (what the npm
// package's bin runs), then wraps that file into dist/srun-docker, a single executable with
// Node inside: the file users drop into ~/bin on a shared home for nodes without Node.js.
// src/first-statement.js goes first, before any module: it must run before anything else can.
import { chmodSync, readFileSync } from "node:fs";
import { build } from "esbuild";
import { buildSea } from "./build-sea.mjs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const outfile = "dist/srun-docker.cjs";
const firstStatement = readFileSync(new URL("../src/first-statement.js", import.meta.url), "utf8");

await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  banner: { js: `#!/usr/bin/env node\n${firstStatement}` },
  define: { SRUN_DOCKER_VERSION: JSON.stringify(version) },
  minify: true,
  keepNames: true,
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
buildSea({ outfile: "dist/srun-docker" });
