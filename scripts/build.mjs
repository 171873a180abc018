// Bundles the CLI into one self-contained CommonJS file with a node shebang:
// the file users drop into ~/bin on a shared home.
import { chmodSync, readFileSync } from "node:fs";
import { build } from "esbuild";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const outfile = "dist/srun-docker.cjs";

await build({
  entryPoints: ["src/main.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  banner: { js: "#!/usr/bin/env node" },
  define: { SRUN_DOCKER_VERSION: JSON.stringify(version) },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
