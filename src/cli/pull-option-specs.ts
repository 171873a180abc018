/**
 * `--pull`, `--pull-once`, `--pull-timeout`: the run's image-pull options, kept in their own
 * table so the pull work stays in its own files. Parsed into RunOptions.pull; the run does not
 * act on them yet, which the help says. (Typed where option-specs.ts spreads them into
 * RUN_OPTIONS: importing OptionSpec here would make an import cycle.)
 */
const NOT_YET = " [not applied yet]";

export const PULL_OPTIONS = [
  {
    name: "pull",
    value: "<missing|always|never>",
    description: `pull the image on each node when it is missing, always, or never, as docker run --pull (default: missing)${NOT_YET}`,
    configurable: true,
  },
  {
    name: "pull-once",
    description: `pull from the registry on one node only; the other nodes get the image from it${NOT_YET}`,
    configurable: true,
  },
  {
    name: "pull-timeout",
    value: "<seconds>",
    description: `fail if the pull is not done within this time; not counted in --timeout (default: 1800)${NOT_YET}`,
    configurable: true,
  },
] as const;
