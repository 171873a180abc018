import { expect, test } from "vitest";
import { checkMaterialFiles, type EntryKind, type MaterialCheck, materialFileNames } from "./material-files.js";

const ALL: Record<string, EntryKind> = Object.fromEntries(materialFileNames().map((name) => [name, "file"]));
const without = (...names: string[]): Record<string, EntryKind> => ({
  ...ALL,
  ...Object.fromEntries(names.map((name) => [name, "absent"])),
});

test.each<[string, Record<string, EntryKind>, MaterialCheck]>([
  ["the secret there", ALL, { kind: "complete" }],
  ["nothing there (`asuser` or the cache made the directory)", {}, { kind: "fill", sets: ["secret"] }],
  ["only the secret lost", without("secret"), { kind: "fill", sets: ["secret"] }],
  ["an older version's key files beside it change nothing", { ...ALL, id_ed25519: "file" }, { kind: "complete" }],
  [
    "a symlink where the secret should be",
    { secret: "other" },
    { kind: "broken", file: "secret", problem: "not a plain file" },
  ],
])("%s", (_what, entries, expected) => {
  expect(checkMaterialFiles(entries)).toEqual(expected);
});
