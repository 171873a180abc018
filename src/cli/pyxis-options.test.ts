import { describe, expect, test } from "vitest";
import { UserError } from "../core/common/index.js";
import { DEFAULT_SHAPE } from "../core/engine/index.js";
import { parseRunArgs } from "./options.js";

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseRunArgs(argv, env);
const image = "--container-image=sdtc-registry:5443#srun-docker-test:1";

function usage(argv: string[], env: NodeJS.ProcessEnv = {}): UserError {
  try {
    parse(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    return error as UserError;
  }
  throw new Error(`no usage error for ${argv.join(" ")}`);
}

describe("Pyxis's options, read into the reference's", () => {
  test("--container-image with a program: the srun launcher runs it, as with Pyxis", () => {
    const options = parse([image, "--", "python3", "-V"]);
    expect(options.container).toBe("sdtc-registry:5443/srun-docker-test:1");
    expect(options.launcher).toBe("srun");
    expect(options.program).toEqual(["python3", "-V"]);
  });

  test("the program may follow without --, as after srun", () => {
    expect(parse([image, "hostname"]).program).toEqual(["hostname"]);
  });

  test("with --script, the ssh launcher as before; a --launcher typed wins", () => {
    expect(parse([image, "--script=./job.sh"]).launcher).toBe("ssh");
    expect(parse([image, "--launcher=each", "--script=./job.sh"]).launcher).toBe("each");
  });

  test("a launcher from a config file does not override the Pyxis form", () => {
    expect(parse([image, "--", "hostname"], { SRUN_DOCKER_LAUNCHER: "ssh" }).launcher).toBe("srun");
  });

  test("dockerd:// is never pulled", () => {
    const options = parse(["--container-image=dockerd://app:dev", "--", "true"]);
    expect(options.container).toBe("app:dev");
    expect(options.pull.policy).toBe("never");
  });

  test("--container-env joins --envlist", () => {
    expect(parse([image, "--envlist=A,B", "--container-env=B,C", "--", "true"]).envlist).toEqual(["A", "B", "C"]);
  });

  test("--container from a config file is a default that --container-image overrides", () => {
    expect(parse([image, "--", "true"], { SRUN_DOCKER_CONTAINER: "other:1" }).container).toBe(
      "sdtc-registry:5443/srun-docker-test:1",
    );
  });

  test("the shape: default, then each option", () => {
    expect(parse([image, "--", "true"]).shape).toEqual(DEFAULT_SHAPE);
    const shape = parse([
      image,
      "--container-mounts=/data:/in:ro,/scratch",
      "--container-workdir=/in",
      "--no-container-mount-home",
      "--container-remap-root",
      "--container-entrypoint",
      "--container-entrypoint-log",
      "--container-readonly",
      "--",
      "true",
    ]).shape;
    expect(shape).toEqual({
      mounts: [
        { kind: "bind", source: "/data", target: "/in", flags: ["ro"] },
        { kind: "bind", source: "/scratch", target: "/scratch", flags: [] },
      ],
      workdir: "/in",
      mountHome: false,
      remapRoot: true,
      entrypoint: true,
      readOnly: true,
    });
    expect(
      parse([image, "--container-writable", "--no-container-remap-root", "--container-mount-home", "--", "true"]).shape,
    ).toEqual(DEFAULT_SHAPE);
  });

  test("mount flags are checked against --runtime", () => {
    expect(usage([image, "--container-mounts=/d:/d:nosuid", "--", "true"]).message).toMatch(/docker cannot mount/);
    expect(parse([image, "--runtime=podman", "--container-mounts=/d:/d:nosuid", "--", "true"]).shape.mounts).toEqual([
      { kind: "bind", source: "/d", target: "/d", flags: ["nosuid"] },
    ]);
  });
});

describe("contradictions are usage errors", () => {
  test.each<[string, string[], RegExp]>([
    ["an image twice", ["--container=img", image, "--", "true"], /`--container` and `--container-image`/],
    ["dockerd:// and a pull", ["--container-image=dockerd://a", "--pull=always", "--", "true"], /dockerd/],
    ["dockerd:// and --pull-once", ["--container-image=dockerd://a", "--pull-once", "--", "true"], /dockerd/],
    ["writable and read-only", [image, "--container-writable", "--container-readonly", "--", "true"], /contradict/],
    ["home and no home", [image, "--container-mount-home", "--no-container-mount-home", "--", "true"], /contradict/],
    ["a relative workdir", [image, "--container-workdir=work", "--", "true"], /absolute directory/],
    ["unshare", [image, "--container-unshare=net", "--", "true"], /`--container-unshare` is refused/],
    ["a squashfs file", ["--container-image=/images/app.sqsh", "--", "true"], /squashfs/],
    ["no program", [image], /`--container-image` needs the program each task runs/],
  ])("%s", (_, argv, message) => {
    expect(usage(argv).message).toMatch(message);
  });
});
