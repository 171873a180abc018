// The Node.js inside the single executable: a pinned release newer than the Node 20 the tool is
// developed and tested on, because only Node >= 24.8 lets a single executable carry Node flags
// of its own (sea-config.json `execArgv`), with `execArgvExtension: "none"` so that NODE_OPTIONS
// cannot add `--inspect` back. The flag it carries is `--inspect-port=192.0.2.1:9229`: a SIGUSR1
// that reaches the process before its first statement runs (src/first-statement.js) makes Node
// try to open its inspector there, on an address that is never local (TEST-NET-1), so the
// attempt fails ("address not available") instead of listening on 127.0.0.1:9229 for every
// local user. `--disable-sigusr1` would shut the inspector too, but it leaves SIGUSR1 blocked
// for good, so the job could never be passed a checkpoint request (README "Security").
//
// The binary comes from the npm registry's `node-linux-<arch>` package, the official build
// repackaged, fetched with `npm pack` and checked against the integrity pinned here. It is not a
// devDependency: that package links its `node` into node_modules/.bin, which would make every
// `npm run` script (tests, build) run on it instead of on the Node the tool supports.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import path from "node:path";

export const SEA_NODE_VERSION = "24.22.3";

// `npm view node-linux-<arch>@<version> dist.integrity`, checked when this version was pinned.
const INTEGRITY = {
  x64: "sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==",
  arm64: "sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==",
};

function run(file, args, cwd) {
  const result = spawnSync(file, args, { cwd, encoding: "utf8" });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit status ${result.status ?? result.signal}`;
    throw new Error(`${file} ${args.join(" ")}: ${why}\n${result.stderr ?? ""}`);
  }
  return result.stdout;
}

/**
 * The path of the pinned Node binary for this machine's architecture, fetched into `cacheDir`
 * on first use. `SRUN_DOCKER_SEA_NODE` names another binary instead (a site without registry
 * access, another architecture); it must be Node >= 24.8 for the flag to be carried.
 */
export function seaNodeBinary(cacheDir = ".cache/sea-node") {
  if (process.env.SRUN_DOCKER_SEA_NODE) return process.env.SRUN_DOCKER_SEA_NODE;
  const integrity = INTEGRITY[process.arch];
  if (process.platform !== "linux" || integrity === undefined) {
    throw new Error(
      `no pinned Node for the single executable on ${process.platform}-${process.arch}: set SRUN_DOCKER_SEA_NODE to a Node >= 24.8 binary`,
    );
  }
  const dir = path.resolve(cacheDir, `${SEA_NODE_VERSION}-${process.arch}`);
  const binary = path.join(dir, "node");
  if (existsSync(binary)) return binary;
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const spec = `node-linux-${process.arch}@${SEA_NODE_VERSION}`;
    const tarball = path.join(work, run("npm", ["pack", "--silent", spec], work).trim().split("\n").pop());
    const got = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
    if (got !== integrity) throw new Error(`${spec}: integrity ${got} is not the pinned ${integrity}`);
    run("tar", ["-xzf", tarball, "-C", work, "package/bin/node"]);
    chmodSync(path.join(work, "package/bin/node"), 0o755);
    mkdirSync(dir, { recursive: true });
    renameSync(path.join(work, "package/bin/node"), binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}
