import { describe, expect, it } from "vitest";
import { parseConfigFile } from "./config-file.js";

const KEYS = ["runtime", "timeout", "datamnts", "shm-size"];

describe("parseConfigFile", () => {
  it.each([
    ['runtime = "podman"', { runtime: "podman" }],
    ["timeout = 30", { timeout: 30 }],
    ['datamnts = ["/a", "/b"]', { datamnts: "/a,/b" }],
    ['shm_size = "1g"', { shm_size: "1g" }],
    ["", {}],
  ])("%s → %o", (text, values) => {
    expect(parseConfigFile("/etc/x.toml", text, KEYS)).toEqual({ source: "/etc/x.toml", values });
  });

  it.each([
    ["runtme = 1", "config file /etc/x.toml has unknown key `runtme`"],
    ["runtime = ", "config file /etc/x.toml is not valid TOML"],
    ["timeout = { a = 1 }", "key `timeout` must be a string, number, boolean or list of strings"],
    ["datamnts = [1, 2]", "key `datamnts` must be a string"],
  ])("%s is a usage error", (text, message) => {
    expect(() => parseConfigFile("/etc/x.toml", text, KEYS)).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }),
    );
  });
});
