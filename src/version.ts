// The bundle gets the version from package.json at build time (scripts/build.mjs); tests
// and `tsx` runs see the fallback.
declare const SRUN_DOCKER_VERSION: string | undefined;

export const VERSION: string = typeof SRUN_DOCKER_VERSION === "string" ? SRUN_DOCKER_VERSION : "0.0.0-dev";
