import { expect, test } from "vitest";
import { formatBytes, formatDuration, formatRate } from "./human-units.js";

test.each([
  [0, "0 B"],
  [999, "999 B"],
  [1000, "1.0 kB"],
  [1534, "1.5 kB"],
  [35_240_000, "35.2 MB"],
  [512_000_000, "512 MB"],
  [999_960, "1.0 MB"],
  [2_100_000_000, "2.1 GB"],
  [3.5e15, "3.5 PB"],
  [7e18, "7000 PB"],
  [-5, "0 B"],
])("formatBytes(%d) = %s", (bytes, text) => expect(formatBytes(bytes)).toBe(text));

test.each([
  [0, "0 s"],
  [499, "0 s"],
  [41_000, "41 s"],
  [59_600, "1 min 0 s"],
  [125_000, "2 min 5 s"],
  [3_780_000, "1 h 3 min"],
])("formatDuration(%d) = %s", (ms, text) => expect(formatDuration(ms)).toBe(text));

test("formatRate", () => expect(formatRate(35_200_000)).toBe("35.2 MB/s"));
