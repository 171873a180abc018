// The bundle gets the version from package.json and the commit it was built from at build time
// (scripts/build.mjs); tests and `tsx` runs see the fallbacks.
declare const SRUN_DOCKER_VERSION: string | undefined;
declare const SRUN_DOCKER_COMMIT: string | undefined;

export const VERSION: string = typeof SRUN_DOCKER_VERSION === "string" ? SRUN_DOCKER_VERSION : "0.0.0-dev";
export const COMMIT: string = typeof SRUN_DOCKER_COMMIT === "string" ? SRUN_DOCKER_COMMIT : "unknown";

/** `srun-docker --version`: the version, the commit, and the Node that runs it (the single executable's own). */
export function versionLine(nodeVersion: string = process.version): string {
  return `srun-docker ${VERSION} (commit ${COMMIT}, Node ${nodeVersion})`;
}
