import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { UserError } from "../core/common/index.js";
import { parseCommandLine } from "./command-line.js";
import { renderHelp } from "./help.js";
import { ASUSER_OPTIONS, CONFIG_KEYS, RUN_OPTIONS } from "./option-specs.js";
import { SETTING_VALUES } from "./setting-values.js";

const kindOf = (argv: string[]): string => parseCommandLine(argv, {}).kind;

describe("parseCommandLine: dispatch", () => {
  test.each<[string[], string]>([
    [["--container=i", "--script=s"], "run"],
    [["--help"], "help"],
    [["-h"], "help"],
    [["--container=i", "-h"], "help"],
    [["--version"], "version"],
    [["-V"], "version"],
    [["help"], "help"],
    [["help", "asuser"], "help"],
    [["asuser", "--container=i"], "asuser"],
    [["asuser", "--help"], "help"],
    [["sshconfig"], "sshconfig"],
    [["hostlist", "expand", "n[1-2]"], "hostlist"],
    [["hostlist", "-h"], "help"],
    [["doctor"], "doctor"],
    [["clean", "--all"], "clean"],
    [["config"], "config"],
    [["completion", "bash"], "completion"],
    [["man"], "man"],
  ])("%j → %s", (argv, kind) => expect(kindOf(argv)).toBe(kind));

  test("completion knows bash alone, and says how to load it", () => {
    for (const argv of [["completion"], ["completion", "zsh"], ["completion", "bash", "x"]])
      expect(() => parseCommandLine(argv, {})).toThrow(
        expect.objectContaining({ exitCode: 2, hint: expect.stringContaining("srun-docker completion bash") }),
      );
  });

  test("a -h meant for the script is not ours", () => {
    const command = parseCommandLine(["--container=i", "--script=s", "--", "-h"], {});
    expect(command.kind === "run" && command.options.scriptArgs).toEqual(["-h"]);
  });

  test("a subcommand word later in argv is a script argument", () => {
    const command = parseCommandLine(["--container=i", "--script=s", "--", "doctor"], {});
    expect(command.kind === "run" && command.options.scriptArgs).toEqual(["doctor"]);
  });

  test("hostlist carries op, args and --sort", () => {
    expect(parseCommandLine(["hostlist", "compress", "--sort", "n2", "n1"], {})).toEqual({
      kind: "hostlist",
      op: "compress",
      args: ["n2", "n1"],
      sort: true,
    });
  });

  test("config lists each configurable setting with its source", () => {
    const command = parseCommandLine(["config"], { SRUN_DOCKER_RUNTIME: "podman" });
    if (command.kind !== "config") throw new Error(command.kind);
    expect(command.settings.find((s) => s.name === "runtime")).toEqual({
      name: "runtime",
      value: "podman",
      source: "env",
    });
    expect(command.settings.find((s) => s.name === "timeout")).toEqual({
      name: "timeout",
      value: undefined,
      source: "default",
    });
  });

  test("config refuses a value the run would refuse, with the run's line, exit 2", () => {
    const file = "/home/u/.config/srun-docker/config.toml";
    const layers = [{ source: file, values: { timeout: "soon" } }];
    const asConfig = (() => {
      try {
        return parseCommandLine(["config"], {}, layers);
      } catch (error) {
        return error;
      }
    })();
    expect(asConfig).toBeInstanceOf(UserError);
    expect(asConfig).toMatchObject({
      exitCode: 2,
      message: `\`timeout\` in ${file} expects an integer from 1 to 86400, got \`soon\``,
    });
    expect(() => parseCommandLine(["--container=i", "--script=s"], {}, layers)).toThrow(
      (asConfig as UserError).message,
    );
    expect(() => parseCommandLine(["config"], { SRUN_DOCKER_REMOTE: "telnet" })).toThrow(
      "`SRUN_DOCKER_REMOTE` expects one of agent|sshd, got `telnet`",
    );
  });

  test("every setting a config file may hold is checked by a converter", () => {
    expect(Object.keys(SETTING_VALUES).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  test.each<[string[], string]>([
    [["help", "nope"], "no help for `nope`"],
    [["asuser", "--bogus=1", "--container=i"], "unknown option `--bogus`"],
    [["hostlist"], "expects `expand` or `compress`"],
    [["hostlist", "expand"], "needs at least one argument"],
    [["config", "x"], "takes no arguments"],
    [["doctor", "extra"], "takes no arguments"],
  ])("%j → %s", (argv, message) => {
    expect(() => parseCommandLine(argv, {})).toThrow(message);
  });
});

describe("help", () => {
  test.each(RUN_OPTIONS.map((spec) => [spec.name, spec.legacy] as const))("run help lists --%s", (name, legacy) => {
    const text = renderHelp("run");
    expect(text).toContain(legacy === undefined ? `--${name}` : `--${legacy}, --${name}`);
  });

  test.each(ASUSER_OPTIONS.map((spec) => spec.name))("asuser help lists --%s", (name) => {
    expect(renderHelp("asuser")).toContain(`--${name}`);
  });

  test("run help shows the srun usage line and the pass-through rule", () => {
    const text = renderHelp("run");
    expect(text.split("\n")[0]).toBe(
      "Usage: srun srun-docker --container=IMAGE --script=PATH [options] [--x=y ...] [-- script args]",
    );
    expect(text).toContain("everything after --, is passed to the script verbatim");
  });
});

test("random argv to any subcommand never throws anything but a UserError", () => {
  const word = fc.oneof(
    fc.constantFrom(
      "asuser",
      "sshconfig",
      "hostlist",
      "expand",
      "compress",
      "doctor",
      "clean",
      "config",
      "help",
      "--",
      "-h",
      "--all",
      "--job",
    ),
    fc.constantFrom(
      "--container=i",
      "--script=s",
      "--daemon",
      "--noninteractive",
      "--workdir=default",
      "--sshdport=2222",
      "--sort",
    ),
    fc.string(),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 7 }), (argv) => {
      try {
        parseCommandLine(argv, {});
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
      }
    }),
    { numRuns: 2000 },
  );
});
