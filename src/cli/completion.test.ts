import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { renderBashCompletion } from "./completion.js";
import { TOPICS } from "./help.js";
import type { RawValue } from "./option-values.js";
import { SETTING_VALUES } from "./setting-values.js";

const SCRIPT = renderBashCompletion("1.2.3");
const DEFAULT_BREAKS = `"'><=;|&(:`;

/** What bash's completion offers for the line typed so far (the cursor at its end). */
function complete(line: string, wordBreaks = DEFAULT_BREAKS): string[] {
  const driver = [
    SCRIPT,
    `COMP_WORDBREAKS=${JSON.stringify(wordBreaks).replaceAll("$", "\\$")}`,
    `COMP_LINE=${JSON.stringify(line)}`,
    `COMP_POINT=${line.length}`,
    "_srun_docker",
    `printf "%s\\n" "\${COMPREPLY[@]}"`,
  ].join("\n");
  const r = spawnSync("bash", ["--norc", "-c", driver], { encoding: "utf8", cwd: "/" });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter((word) => word !== "");
}

describe("bash completion", () => {
  test.each<[string, string, string[]]>([
    ["an option's name, with = for its value", "srun-docker --la", ["--launcher="]],
    ["the value after =: the option's choices", "srun-docker --launcher=", ["ssh", "each", "srun"]],
    ["the choices that fit what is typed", "srun-docker --launcher=s", ["ssh", "srun"]],
    ["the value after a space", "srun-docker --runtime ", ["docker", "podman"]],
    ["an old name, written with _", "srun-docker --slots_per", ["--slots_per_node="]],
    ["the same option, one subcommand's own choices", "srun-docker pull --pull=", ["missing", "always"]],
    ["the run's choices for it", "srun-docker --pull=", ["missing", "always", "never"]],
    ["a flag takes no =", "srun-docker --dry", ["--dry-run"]],
    ["a subcommand, as the first word", "srun-docker doc", ["doctor"]],
    ["a subcommand's own options", "srun-docker doctor --con", ["--container="]],
    ["nothing of ours after --", "srun-docker --container=i -- --la", []],
  ])("%s: %j", (_name, line, expected) => {
    expect(complete(line)).toEqual(expected);
  });

  test("with = not a word break, the value is completed with its option", () => {
    expect(complete("srun-docker --remote=", " \t\n")).toEqual(["--remote=agent", "--remote=sshd"]);
  });

  test("every option of every topic is offered there, each choice after its =", () => {
    for (const [topic, { specs }] of Object.entries(TOPICS)) {
      const prefix = topic === "run" ? "srun-docker" : `srun-docker ${topic}`;
      const offered = complete(`${prefix} --`);
      for (const spec of specs) {
        expect(offered).toContain(spec.value === undefined ? `--${spec.name}` : `--${spec.name}=`);
        if (spec.choices) expect(complete(`${prefix} --${spec.name}=`)).toEqual(spec.choices);
      }
    }
  });

  test("the choices are the ones help shows", () => {
    for (const { specs } of Object.values(TOPICS))
      for (const spec of specs) if (spec.choices) expect(spec.value).toBe(`<${spec.choices.join("|")}>`);
  });

  test("a setting takes each of its choices", () => {
    const converters: Readonly<Record<string, (raw: RawValue) => unknown>> = SETTING_VALUES;
    for (const { specs } of Object.values(TOPICS))
      for (const spec of specs)
        for (const value of spec.choices ?? []) {
          const convert = converters[spec.name];
          expect(convert, spec.name).toBeDefined();
          expect(convert?.({ value, origin: `--${spec.name}` })).toBe(value);
        }
  });
});
