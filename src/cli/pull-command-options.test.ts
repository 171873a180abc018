import { expect, test } from "vitest";
import { parseCommandLine } from "./command-line.js";
import { renderHelp } from "./help.js";
import { parsePullCommandArgs } from "./pull-command-options.js";

test.each<[string[], NodeJS.ProcessEnv, object]>([
  [
    ["reg:5000/app:1"],
    {},
    {
      image: "reg:5000/app:1",
      pull: { policy: "missing", once: false, timeoutSeconds: 1800 },
      runtime: "docker",
      timeoutSeconds: 120,
      rendezvousPort: undefined,
      debug: false,
    },
  ],
  [
    ["--pull-once", "--pull=always", "--runtime=podman", "app:1", "--pull-timeout=60", "--timeout=30", "--debug"],
    {},
    {
      image: "app:1",
      pull: { policy: "always", once: true, timeoutSeconds: 60 },
      runtime: "podman",
      timeoutSeconds: 30,
      debug: true,
    },
  ],
  [
    ["app:1"],
    { SRUN_DOCKER_PULL_ONCE: "1", SRUN_DOCKER_RUNTIME: "podman" },
    { pull: { once: true }, runtime: "podman" },
  ],
  [["--rendezvous-port=23456", "app:1"], {}, { rendezvousPort: 23456 }],
])("pull %j %j → %j", (argv, env, expected) => {
  expect(parsePullCommandArgs(argv, env)).toMatchObject(expected);
});

test.each<[string[], string]>([
  [[], "`srun-docker pull` needs the image"],
  [["a:1", "b:1"], "`srun-docker pull` takes one image, got `a:1 b:1`"],
  [["--pull=never", "a:1"], "`srun-docker pull --pull=never` would pull nothing"],
  [["--pull-once", "--pull=never", "a:1"], "contradict each other"],
  [["--script=x", "a:1"], "unknown option"],
  [["--pull=newer", "a:1"], "`--pull` expects one of missing|always|never, got `newer`"],
])("pull %j is refused: %s", (argv, message) => {
  expect(() => parsePullCommandArgs(argv, {})).toThrow(message);
});

test("dispatch: `srun-docker pull IMAGE` is the pull subcommand, with its own help", () => {
  expect(parseCommandLine(["pull", "app:1"], {})).toMatchObject({ kind: "pull", options: { image: "app:1" } });
  expect(parseCommandLine(["pull", "--help"], {})).toEqual({ kind: "help", topic: "pull" });
  const help = renderHelp("pull", 200);
  expect(help).toContain("Usage: srun -N NODES srun-docker pull IMAGE");
  for (const flags of ["--pull <missing|always>", "--pull-once", "--pull-timeout <seconds>", "--runtime", "--timeout"])
    expect(help).toContain(flags);
  expect(renderHelp("run")).toMatch(/^ {2}pull {8}stage an image on every node/m);
});
