import { describe, expect, test } from "vitest";
import { parseContainerMounts } from "./pyxis-mounts.js";

describe("parseContainerMounts", () => {
  test("SRC:DST:FLAGS entries, + joining flags, SRC alone for SRC:SRC", () => {
    expect(parseContainerMounts("/data:/in:ro+rprivate,/scratch,./out:/out,tmpfs:/cache:size=1m", "docker")).toEqual([
      { kind: "bind", source: "/data", target: "/in", flags: ["ro", "rprivate"] },
      { kind: "bind", source: "/scratch", target: "/scratch", flags: [] },
      { kind: "bind", source: "./out", target: "/out", flags: [] },
      { kind: "tmpfs", target: "/cache", flags: ["size=1m"] },
    ]);
  });

  test("a relative target is under /", () => {
    expect(parseContainerMounts("/data:./in", "podman")).toEqual([
      { kind: "bind", source: "/data", target: "/in", flags: [] },
    ]);
  });

  test.each<[string, "docker" | "podman", RegExp]>([
    ["/data:/data:ro+nosuid", "docker", /docker cannot mount `\/data:\/data:ro\+nosuid` with `nosuid`.*/],
    ["/data:/data:bogus", "podman", /podman cannot mount `\/data:\/data:bogus` with `bogus`/],
    ["data:/data", "docker", /source of `data:\/data` is not a path/],
    ["/data:data", "docker", /target of `\/data:data` is not a path/],
    ["umount:/proc/driver", "docker", /unmounts/],
    ["/a:/x,/b:/x", "docker", /two mounts on `\/x`/],
    ["/a:/b:ro:extra", "docker", /is not SRC\[:DST\[:FLAGS\]\]/],
    [",", "docker", /needs a mount/],
  ])("refuses %s on %s", (text, runtime, message) => {
    expect(() => parseContainerMounts(text, runtime)).toThrow(message);
  });

  test("a flag only Podman takes: the hint says so on Docker", () => {
    try {
      parseContainerMounts("/data:/data:nosuid", "docker");
      expect.unreachable();
    } catch (error) {
      expect((error as { hint?: string }).hint).toMatch(/--runtime=podman/);
    }
  });
});
