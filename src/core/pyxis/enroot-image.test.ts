import { describe, expect, test } from "vitest";
import { parseEnrootImage } from "./enroot-image.js";

describe("parseEnrootImage", () => {
  test.each<[string, string, boolean]>([
    ["nvcr.io#nvidia/pytorch:24.05-py3", "nvcr.io/nvidia/pytorch:24.05-py3", false],
    ["sdtc-registry:5443#srun-docker-test:1", "sdtc-registry:5443/srun-docker-test:1", false],
    ["ubuntu:24.04", "ubuntu:24.04", false],
    ["#ubuntu:24.04", "ubuntu:24.04", false],
    ["docker://nvcr.io#nvidia/cuda:12.4.0-base", "nvcr.io/nvidia/cuda:12.4.0-base", false],
    ["docker://ubuntu", "ubuntu", false],
    ["dockerd://app:dev", "app:dev", true],
    [`reg.io#team/app@sha256:${"a".repeat(64)}`, `reg.io/team/app@sha256:${"a".repeat(64)}`, false],
  ])("%s", (given, reference, fromDaemon) => {
    expect(parseEnrootImage(given)).toEqual({ reference, fromDaemon });
  });

  test.each<[string, RegExp]>([
    ["/shared/images/pytorch.sqsh", /squashfs file/],
    ["./pytorch.sqsh", /squashfs file/],
    ["pytorch.squashfs", /squashfs file/],
    ["alice@nvcr.io#nvidia/pytorch:24.05-py3", /registry user \(`alice@`\)/],
    ["a#b#c", /is not an image/],
    ["docker://", /is not an image/],
  ])("refuses %s", (given, message) => {
    expect(() => parseEnrootImage(given)).toThrow(message);
  });
});
