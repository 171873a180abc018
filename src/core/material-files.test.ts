import { expect, test } from "vitest";
import { checkMaterialFiles, type EntryKind, type MaterialCheck, materialFileNames } from "./material-files.js";

const ALL: Record<string, EntryKind> = Object.fromEntries(materialFileNames().map((name) => [name, "file"]));
const without = (...names: string[]): Record<string, EntryKind> => ({
  ...ALL,
  ...Object.fromEntries(names.map((name) => [name, "absent"])),
});

test.each<[string, Record<string, EntryKind>, MaterialCheck]>([
  ["every file there", ALL, { kind: "complete" }],
  ["none there (`asuser` or the cache made the directory)", {}, { kind: "fill", sets: ["client", "host", "secret"] }],
  ["only the secret lost", without("secret"), { kind: "fill", sets: ["secret"] }],
  [
    "the whole host key lost",
    without("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"),
    { kind: "fill", sets: ["host"] },
  ],
  [
    "a key without its public half: not guessed at",
    without("id_ed25519.pub"),
    { kind: "broken", file: "id_ed25519.pub", problem: "missing" },
  ],
  [
    "authorized_keys alone lost: it belongs to the client key",
    without("authorized_keys"),
    { kind: "broken", file: "authorized_keys", problem: "missing" },
  ],
  [
    "a symlink where a key should be, even beside missing sets",
    { secret: "other" },
    { kind: "broken", file: "secret", problem: "not a plain file" },
  ],
  [
    "a directory in place of a key",
    { ...ALL, ssh_host_ed25519_key: "other" },
    { kind: "broken", file: "ssh_host_ed25519_key", problem: "not a plain file" },
  ],
])("%s", (_what, entries, expected) => {
  expect(checkMaterialFiles(entries)).toEqual(expected);
});
