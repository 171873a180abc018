// Turns the bundle into a Node single executable application (SEA): a copy of the node binary
// that runs the build, with the bundle injected as a blob. Compute nodes often have no Node.js;
// this one file runs there all the same.
//
// sea-config.json says what goes in: the bundle, with V8's code cache (startup is paid once per
// node on every srun), without the "experimental feature" warning users would otherwise see on
// every run, and with an inspector address that can never be bound as the binary's own flag,
// which NODE_OPTIONS cannot undo (`execArgvExtension: "none"`; why: sea-node.mjs). The Node
// inside is the pinned one of sea-node.mjs, not the Node that runs this build: carrying a flag
// needs a newer Node than the one the tool supports.
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { seaNodeBinary } from "./sea-node.mjs";

// The fuse that Node's own binary carries; postject flips it so node looks for the blob at start.
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

// Injection parses the ELF with LIEF, which warns about every unnamed note section of node's
// binary; those warnings are harmless and only hide real errors.
const POSTJECT_NOISE = /Can't find string offset for section name|Start injection of|Injection done/;

function run(file, args) {
  const result = spawnSync(file, args, { encoding: "utf8" });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit status ${result.status ?? result.signal}`;
    throw new Error(`building the single executable failed: ${file} ${args.join(" ")}: ${why}\n${output}`);
  }
  const rest = output.split("\n").filter((line) => line.trim() !== "" && !POSTJECT_NOISE.test(line));
  const blobNote = /^Wrote single executable preparation blob/;
  for (const line of rest) if (!blobNote.test(line)) console.warn(line);
}

/**
 * Builds `outfile` from the bundle named in `config`. Linux only: that is where Slurm runs, and
 * macOS or Windows binaries would also need re-signing; elsewhere it says so and skips.
 */
export function buildSea({ config = "sea-config.json", outfile = "dist/srun-docker" } = {}) {
  if (process.platform !== "linux") {
    console.warn(`skipping ${outfile}: the single executable is built on Linux only`);
    return;
  }
  const { output: blob } = JSON.parse(readFileSync(config, "utf8"));
  const node = seaNodeBinary();
  // The blob's code cache is V8's own format: made by the very Node that will read it.
  run(node, ["--experimental-sea-config", config]);
  // Remove first: copying over a binary that is running fails with ETXTBSY.
  rmSync(outfile, { force: true });
  copyFileSync(node, outfile);
  const postject = createRequire(import.meta.url).resolve("postject/dist/cli.js");
  run(process.execPath, [postject, outfile, "NODE_SEA_BLOB", blob, "--sentinel-fuse", SEA_FUSE]);
  rmSync(blob);
  chmodSync(outfile, 0o755);
}
