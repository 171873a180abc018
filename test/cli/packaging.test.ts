// The example config.toml that the release archive and the Debian package ship: installed, it
// changes nothing (every line a comment); uncommented, every setting in it is one the tool takes,
// and it shows every setting a config file may hold.
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { parseCommandLine } from "../../src/cli/command-line.js";
import { CONFIG_KEYS } from "../../src/cli/option-specs.js";
import { parseConfigFile } from "../../src/core/plan/index.js";

const EXAMPLE = path.resolve(import.meta.dirname, "../../packaging/config.toml");
const text = readFileSync(EXAMPLE, "utf8");

test("as installed, it sets nothing", () => {
  expect(parseConfigFile(EXAMPLE, text, CONFIG_KEYS).values).toEqual({});
});

test("uncommented, each of its settings is taken, and it has every setting", () => {
  const settings = text
    .split("\n")
    .filter((line) => /^# [a-z_]+ = /.test(line))
    .map((line) => line.slice(2))
    .join("\n");
  const layer = parseConfigFile(EXAMPLE, settings, CONFIG_KEYS);
  expect(
    Object.keys(layer.values)
      .map((key) => key.replaceAll("_", "-"))
      .sort(),
  ).toEqual([...CONFIG_KEYS].sort());
  const command = parseCommandLine(["config"], {}, [layer]);
  expect(command.kind).toBe("config");
});
