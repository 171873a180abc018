import { describe, expect, test } from "vitest";
import {
  type AsuserOptions,
  parseAsuserArgs,
  parseCleanArgs,
  parseDoctorArgs,
  parseHostlistArgs,
  parseSshconfigArgs,
} from "./subcommand-options.js";

const asuser = (argv: string[], key: keyof AsuserOptions): unknown =>
  parseAsuserArgs(["--container=img", ...argv], {})[key];

describe("parseAsuserArgs", () => {
  test.each<[string[], keyof AsuserOptions, unknown]>([
    [[], "mode", "interactive"],
    [["--daemon"], "mode", "daemon"],
    [["--noninteractive"], "mode", "noninteractive"],
    [["--keepalive"], "keepalive", true],
    [[], "workdir", { kind: "cwd" }],
    [["--workdir=default"], "workdir", { kind: "image" }],
    [["--workdir=/src"], "workdir", { kind: "path", path: "/src" }],
    [["--entrypoint=bash"], "entrypoint", "bash"],
    [["--net=host"], "net", "host"],
    [["--dockcmd=python -c 'print(1)'"], "dockcmd", ["python", "-c", "print(1)"]],
    [[], "dockcmd", []],
    [["--dockindock"], "dockindock", true],
    [["--userdefault"], "userdefault", true],
    [[], "gpuRuntime", "docker"],
    [["--nvdock1"], "gpuRuntime", "nvidia-docker1"],
    [["--nvdock2"], "gpuRuntime", "nvidia"],
    [["--bashinit=/h/init.sh"], "bashinit", "/h/init.sh"],
    [["--datamnts=/data"], "datamnts", ["/data"]],
    [["--runtime=podman"], "runtime", "podman"],
  ])("%j → %s = %j", (argv, key, expected) => expect(asuser(argv, key)).toEqual(expected));

  test.each<[string[], string]>([
    [[], "`--container` is required"],
    [["--container=i", "--daemon", "--noninteractive"], "exclude each other"],
    [["--container=i", "--nvdock1", "--nvdock2"], "exclude each other"],
    [["--container=i", "--x=1"], "unknown option `--x`"],
    [["--container=i", "stray"], "takes no arguments"],
  ])("%j → %s", (argv, message) => expect(() => parseAsuserArgs(argv, {})).toThrow(message));
});

describe("other subcommands", () => {
  test.each<[string[], unknown]>([
    [[], { sshconfigdir: undefined, sshdPort: undefined, dryRun: false, debug: false }],
    [
      ["--sshconfigdir=/h/m", "--sshdport=12345"],
      { sshconfigdir: "/h/m", sshdPort: 12345, dryRun: false, debug: false },
    ],
  ])("sshconfig %j", (argv, expected) => expect(parseSshconfigArgs(argv, {})).toEqual(expected));

  test.each<[string[], unknown]>([
    [["expand", "n[1-2]", "m1"], { op: "expand", args: ["n[1-2]", "m1"], sort: false }],
    [["compress", "n1", "n2"], { op: "compress", args: ["n1", "n2"], sort: false }],
    [["--sort", "compress", "n1"], { op: "compress", args: ["n1"], sort: true }],
  ])("hostlist %j", (argv, expected) => expect(parseHostlistArgs(argv, {})).toEqual(expected));

  test.each<[string[], NodeJS.ProcessEnv, unknown]>([
    [["--all"], {}, { job: undefined, all: true, runtime: "docker", dryRun: false, debug: false }],
    [["--job=42"], {}, { job: "42", all: false, runtime: "docker", dryRun: false, debug: false }],
    // Inside a job of its own (srun srun-docker clean) it still means the ended jobs' containers.
    [[], { SLURM_JOB_ID: "7" }, { job: undefined, all: false, runtime: "docker", dryRun: false, debug: false }],
    [
      ["--runtime=podman", "--dry-run"],
      {},
      { job: undefined, all: false, runtime: "podman", dryRun: true, debug: false },
    ],
  ])("clean %j %j", (argv, env, expected) => expect(parseCleanArgs(argv, env)).toEqual(expected));

  test.each<[string[], string]>([[["--all", "--job=1"], "exclude each other"]])("clean %j → %s", (argv, message) =>
    expect(() => parseCleanArgs(argv, {})).toThrow(message),
  );

  test("doctor", () => {
    expect(parseDoctorArgs(["--container=img", "--slots_per_node=2"], {})).toEqual({
      container: "img",
      runtime: "docker",
      remote: "agent",
      sshconfigdir: undefined,
      sshdPort: undefined,
      slotsPerNode: 2,
      debug: false,
    });
    expect(parseDoctorArgs(["--sshdport=2222"], {}).remote).toBe("sshd");
  });
});
