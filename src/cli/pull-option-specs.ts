/**
 * `--pull`, `--pull-once`, `--pull-timeout`: the image-pull options of the run and of
 * `srun-docker pull`; `--image-per-node`, the run's alone (last: `pull` takes the first three), kept in their own table so the pull work stays in its own files. Parsed
 * into RunOptions.pull (cli/pull-options.ts). (Typed where option-specs.ts spreads them into
 * RUN_OPTIONS: importing OptionSpec here would make an import cycle.)
 */
export const PULL_OPTIONS = [
  {
    name: "pull",
    value: "<missing|always|never>",
    description:
      "missing: use what the master has, else pull the registry's digest for the tag on every node; always: ask the registry each time; never: only what every node has (default: missing)",
    configurable: true,
  },
  {
    name: "pull-once",
    description:
      "only the first node pulls from the registry; the others get the image from the nodes that have it (docker save/load, relayed in a tree)",
    configurable: true,
  },
  {
    name: "pull-timeout",
    value: "<seconds>",
    description: "fail if the pull is not done within this time; not counted in --timeout (default: 1800)",
    configurable: true,
  },
  {
    name: "image-per-node",
    description:
      "a node that has its own image under --container's name runs it, whatever its ID (as the reference scripts did, e.g. after `srun docker build -t app .`); the others get the first node's. Risky: nodes may run different code",
    configurable: true,
  },
] as const;
