import { expect, test } from "vitest";
import { effectiveSettings } from "./command-line.js";
import { renderHelp } from "./help.js";
import { parseRunArgs, SRUN_PULL_ONCE_WARNING } from "./options.js";

const BASE = ["--container=img", "--script=./job.sh"];
const pull = (argv: string[], env: NodeJS.ProcessEnv = {}, layers: { source: string; values: object }[] = []) =>
  parseRunArgs([...BASE, ...argv], env, layers as never).pull;

test.each<[string[], NodeJS.ProcessEnv, object]>([
  [[], {}, { policy: "missing", once: false, timeoutSeconds: 1800, perNode: false }],
  [["--image-per-node"], {}, { perNode: true }],
  [["--image_per_node=true", "--pull=never"], {}, { perNode: true, policy: "never" }],
  [[], { SRUN_DOCKER_IMAGE_PER_NODE: "1" }, { perNode: true }],
  [["--pull=always"], {}, { policy: "always" }],
  [["--pull", "never"], {}, { policy: "never" }],
  [["--pull-once"], {}, { once: true }],
  [["--pull_once=false"], {}, { once: false }],
  [["--pull-timeout=3600"], {}, { timeoutSeconds: 3600 }],
  [
    [],
    { SRUN_DOCKER_PULL: "always", SRUN_DOCKER_PULL_ONCE: "1", SRUN_DOCKER_PULL_TIMEOUT: "60" },
    { policy: "always", once: true, timeoutSeconds: 60 },
  ],
  [["--pull=missing"], { SRUN_DOCKER_PULL: "always" }, { policy: "missing" }],
])("%j %j → %j", (argv, env, expected) => expect(pull(argv, env)).toMatchObject(expected));

test("config files set them by their keys, either spelling", () => {
  const layers = [
    { source: "/etc/srun-docker/config.toml", values: { pull: "always", pull_once: true, "pull-timeout": 90 } },
  ];
  expect(pull([], {}, layers)).toEqual({ policy: "always", once: true, timeoutSeconds: 90, perNode: false });
  const perNode = [{ source: "~/.config/srun-docker/config.toml", values: { "image-per-node": true } }];
  expect(pull([], {}, perNode)).toMatchObject({ perNode: true });
});

test.each<[string[], NodeJS.ProcessEnv, string]>([
  [["--pull=newer"], {}, "`--pull` expects one of missing|always|never, got `newer`"],
  [[], { SRUN_DOCKER_PULL: "yes" }, "`SRUN_DOCKER_PULL` expects one of missing|always|never, got `yes`"],
  [["--pull-timeout=0"], {}, "`--pull-timeout` expects an integer from 1 to 604800, got `0`"],
  [["--pull-timeout=30m"], {}, "`--pull-timeout` expects an integer from 1 to 604800, got `30m`"],
  [["--pull-once=maybe"], {}, "`--pull-once` expects true or false, got `maybe`"],
  [["--pull-once", "--pull=never"], {}, "`--pull-once` and `--pull=never` contradict each other"],
  [["--image-per-node", "--pull-once"], {}, "`--image-per-node` and `--pull-once` contradict each other"],
  [["--image-per-node", "--pull=always"], {}, "`--image-per-node` and `--pull=always` contradict each other"],
])("%j %j is refused: %s", (argv, env, message) => {
  expect(() => pull(argv, env)).toThrow(message);
});

test("a contradiction from the environment says where each came from", () => {
  expect(() => pull(["--pull=never"], { SRUN_DOCKER_PULL_ONCE: "true" })).toThrow(
    "`--pull-once` and `--pull=never` contradict each other (from `SRUN_DOCKER_PULL_ONCE` and `--pull`)",
  );
});

test("--help lists them, marked configurable, and no longer as not applied", () => {
  const help = renderHelp("run", 400);
  for (const flags of [
    "--pull <missing|always|never>",
    "--pull-once",
    "--pull-timeout <seconds>",
    "--image-per-node",
  ]) {
    const line = help.split("\n").find((l) => l.trimStart().startsWith(flags));
    expect(line).toContain("(*)");
    expect(line).not.toContain("not applied");
  }
});

test("--pull-once with --launcher=srun: a warning, since no rendezvous relays the image", () => {
  expect(parseRunArgs([...BASE, "--launcher=srun", "--pull-once"], {}).warnings).toEqual([SRUN_PULL_ONCE_WARNING]);
  expect(parseRunArgs([...BASE, "--pull-once"], {}).warnings).toEqual([]);
});

test("srun-docker config shows them", () => {
  const names = effectiveSettings({ SRUN_DOCKER_PULL: "never" }, []).map((s) => [s.name, s.value, s.source]);
  expect(names).toEqual(
    expect.arrayContaining([
      ["pull", "never", "env"],
      ["pull-once", undefined, "default"],
      ["pull-timeout", undefined, "default"],
    ]),
  );
});
