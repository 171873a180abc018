import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { UserError } from "../core/common/index.js";
import { INTERACTIVE_SHELL, parseRunArgs, type RunOptions } from "./options.js";

const BASE = ["--container=img", "--script=./job.sh"];
const run = (...argv: string[]): RunOptions => parseRunArgs([...BASE, ...argv], {});
const pick = (argv: string[], key: keyof RunOptions, env: NodeJS.ProcessEnv = {}): unknown =>
  parseRunArgs([...BASE, ...argv], env)[key];

describe("parseRunArgs: values", () => {
  test.each<[string[], keyof RunOptions, unknown]>([
    [[], "container", "img"],
    [[], "script", "./job.sh"],
    [["--container", "other"], "container", "other"],
    [["--slots_per_node=2"], "slotsPerNode", 2],
    [["--slots-per-node", "3"], "slotsPerNode", 3],
    [["--slots_per_node", "4"], "slotsPerNode", 4],
    [[], "slotsPerNode", undefined],
    [["--datamnts=/a,/b"], "datamnts", ["/a", "/b"]],
    [["--datamnts=/a,,/b,"], "datamnts", ["/a", "/b"]],
    [["--envlist=V1,V2"], "envlist", ["V1", "V2"]],
    [['--dockopts=--ipc=host -e X="a b"'], "dockopts", ["--ipc=host", "-e", "X=a b"]],
    [["--dockopts=-v $HOME/x:/x"], "dockopts", ["-v", "$HOME/x:/x"]],
    [["--dockopts=--device=/dev/nvidia*"], "dockopts", ["--device=/dev/nvidia*"]],
    [["--privileged"], "privileged", true],
    [["--privileged=false"], "privileged", false],
    [[], "privileged", false],
    [["--ibdevices"], "ibdevices", true],
    [["--nodelist=node[1-3]"], "nodelist", ["node1", "node2", "node3"]],
    [["--nodelist=n[1-2]", "--node-rank=1"], "nodeRank", 1],
    [["--nodelist=n[1-2]", "--node_rank=0"], "nodeRank", 0],
    [["--sshconfigdir=/h/mpissh"], "sshconfigdir", "/h/mpissh"],
    [["--sshdport=12345"], "sshdPort", 12345],
    [["--rendezvous-port=23456"], "rendezvousPort", 23456],
    [[], "timeoutSeconds", 120],
    [["--timeout=30"], "timeoutSeconds", 30],
    [[], "launcher", "ssh"],
    [["--launcher=each"], "launcher", "each"],
    [[], "gpus", { kind: "auto" }],
    [["--gpus=none"], "gpus", { kind: "none" }],
    [["--gpus=all"], "gpus", { kind: "all" }],
    [["--gpus=0,2"], "gpus", { kind: "list", ids: ["0", "2"] }],
    [["--gpus=GPU-8f6c1a2b-0000"], "gpus", { kind: "list", ids: ["GPU-8f6c1a2b-0000"] }],
    [[], "gpuRuntime", "docker"],
    [["--nvdock2"], "gpuRuntime", "nvidia"],
    [["--gpu-runtime=nvidia"], "gpuRuntime", "nvidia"],
    [[], "runtime", "docker"],
    [["--runtime=podman"], "runtime", "podman"],
    [[], "memlock", { kind: "unlimited" }],
    [["--memlock=off"], "memlock", { kind: "off" }],
    [["--memlock=64m"], "memlock", { kind: "bytes", bytes: 64 * 1024 * 1024 }],
    [[], "shmSize", "1g"],
    [["--shm-size=8g"], "shmSize", "8g"],
    [["--shm_size=512m"], "shmSize", "512m"],
    [["--dry-run"], "dryRun", true],
    [["--debug"], "debug", true],
    [["--dockname=mine"], "dockname", "mine"],
    [["--timeout=10", "--timeout=20"], "timeoutSeconds", 20],
  ])("%j → %s = %j", (argv, key, expected) => expect(pick(argv, key)).toEqual(expected));
});

describe("parseRunArgs: pass-through to the script", () => {
  test.each<[string[], string[]]>([
    [[], []],
    [["--epochs=3"], ["--epochs=3"]],
    [
      ["--lr=0.1", "--slots_per_node=2", "--data=/a:/b"],
      ["--lr=0.1", "--data=/a:/b"],
    ],
    [
      ["--", "a b", "c:d", "--container=x"],
      ["a b", "c:d", "--container=x"],
    ],
    [
      ["--x=1", "--", "--y"],
      ["--x=1", "--y"],
    ],
    [["--script_help"], ["--help"]],
    [
      ["--script-help", "--", "a"],
      ["a", "--help"],
    ],
    [
      ["word", "--debug"],
      ["word", "--debug"],
    ],
    [
      ["--x", "value"],
      ["--x", "value"],
    ],
    [["-v"], ["-v"]],
    [
      ["--", "--", "x"],
      ["--", "x"],
    ],
  ])("%j → %j", (argv, expected) => expect(run(...argv).scriptArgs).toEqual(expected));

  test("a value option takes an unknown option as its value", () => {
    expect(run("--dockopts", "--ipc=host").dockopts).toEqual(["--ipc=host"]);
  });

  test("a likely typo of one of our options still goes to the script, with a warning", () => {
    const options = run("--dockpots=--ipc=host", "--lr=0.1", "--envlsit", "--", "--containr=x");
    expect(options.scriptArgs).toEqual(["--dockpots=--ipc=host", "--lr=0.1", "--envlsit", "--containr=x"]);
    // After `--` everything is the script's own: nothing to warn about there.
    expect(options.warnings).toEqual([
      "`--dockpots=--ipc=host` is passed to the script; did you mean `--dockopts`?",
      "`--envlsit` is passed to the script; did you mean `--envlist`?",
    ]);
    expect(run("--epochs=3").warnings).toEqual([]);
  });

  test("a missing --script with a typo of it says what was meant", () => {
    expect(() => parseRunArgs(["--container=img", "--sript=job.sh"], {})).toThrow(
      expect.objectContaining({
        message: "`--script` is required",
        hint: "`--sript=job.sh` would go to the script; did you mean `--script=job.sh`?",
      }),
    );
  });
});

describe("parseRunArgs: layering", () => {
  test.each<[string[], NodeJS.ProcessEnv, keyof RunOptions, unknown, string, string | undefined]>([
    [[], { SRUN_DOCKER_TIMEOUT: "60" }, "timeoutSeconds", 60, "timeout", "env"],
    [["--timeout=5"], { SRUN_DOCKER_TIMEOUT: "60" }, "timeoutSeconds", 5, "timeout", "cli"],
    [[], { SRUN_DOCKER_RUNTIME: "podman" }, "runtime", "podman", "runtime", "env"],
    [[], { SRUN_DOCKER_SHM_SIZE: "2g" }, "shmSize", "2g", "shm-size", "env"],
    [[], { SRUN_DOCKER_TIMEOUT: "" }, "timeoutSeconds", 120, "timeout", undefined],
    [[], { SRUN_DOCKER_SLOTS_PER_NODE: "2" }, "slotsPerNode", undefined, "slots-per-node", undefined],
  ])("%j with %j → %s = %j", (argv, env, key, expected, name, source) => {
    const options = parseRunArgs([...BASE, ...argv], env);
    expect(options[key]).toEqual(expected);
    expect(options.sources.get(name)).toBe(source);
  });

  test("config files: later layers win, env and cli win over them", () => {
    const layers = [
      { source: "/etc/srun-docker/config.toml", values: { runtime: "podman", timeout: 30, datamnts: ["/data"] } },
      { source: "~/.config/srun-docker/config.toml", values: { timeout: 40, shm_size: "4g" } },
    ];
    const options = parseRunArgs(BASE, { SRUN_DOCKER_SHM_SIZE: "2g" }, layers);
    expect([options.runtime, options.timeoutSeconds, options.datamnts, options.shmSize]).toEqual([
      "podman",
      40,
      ["/data"],
      "2g",
    ]);
    expect(options.sources.get("runtime")).toEqual({ file: "/etc/srun-docker/config.toml" });
  });

  test("the container may come from the environment", () => {
    expect(parseRunArgs(["--script=./j.sh"], { SRUN_DOCKER_CONTAINER: "img2" }).container).toBe("img2");
  });

  test("a bad config value names the file and the key", () => {
    const layers = [{ source: "/etc/srun-docker/config.toml", values: { timeout: "soon" } }];
    expect(() => parseRunArgs(BASE, {}, layers)).toThrow(
      "`timeout` in /etc/srun-docker/config.toml expects an integer",
    );
  });
});

describe("parseRunArgs: errors", () => {
  test.each<[string[], string]>([
    [["--script=./job.sh"], "`--container` is required"],
    [["--container=img"], "`--script` is required"],
    [["--container=", "--script=./j"], "`--container` expects a non-empty value"],
    [[...BASE, "--slots_per_node=two"], "`--slots_per_node` expects an integer from 1 to 4096, got `two`"],
    [[...BASE, "--slots-per-node=0"], "`--slots-per-node` expects an integer from 1 to 4096, got `0`"],
    [[...BASE, "--slots_per_node"], "`--slots_per_node` needs a value"],
    [[...BASE, "--slots_per_node", "--debug"], "`--slots_per_node` needs a value"],
    [[...BASE, "--timeout=-1"], "`--timeout` expects an integer from 1 to 86400"],
    [[...BASE, "--sshdport=22"], "`--sshdport` expects a TCP port from 1024 to 65535, got `22`"],
    [[...BASE, "--sshdport=70000"], "`--sshdport` expects a TCP port"],
    [[...BASE, "--sshdport=20000", "--rendezvous-port=20000"], "are both 20000"],
    [[...BASE, "--launcher=mpi"], "`--launcher` expects one of ssh|each|srun, got `mpi`"],
    [[...BASE, "--runtime=lxc"], "`--runtime` expects one of docker|podman"],
    [[...BASE, "--gpu-runtime=amd"], "`--gpu-runtime` expects one of docker|nvidia"],
    [[...BASE, "--nvdock2", "--gpu-runtime=docker"], "contradict"],
    [[...BASE, "--gpus=some"], "`--gpus` expects auto, none, all or a list"],
    [[...BASE, "--memlock=lots"], "`--memlock` expects unlimited, off or a size"],
    [[...BASE, "--shm-size=big"], "`--shm-size` expects a size"],
    [[...BASE, "--datamnts=data"], "`--datamnts` expects comma-separated absolute directories"],
    [[...BASE, "--datamnts=/a:/b"], "`--datamnts` expects comma-separated absolute directories"],
    [[...BASE, "--envlist=A,1B"], "`--envlist` expects comma-separated environment variable names"],
    [[...BASE, "--dockopts=-e X=1; rm -rf /"], "`--dockopts` expects docker options, not the shell operator `;`"],
    [[...BASE, "--dockopts=a | b"], "the shell operator `|`"],
    [[...BASE, "--dockopts=a # c"], "a comment"],
    [[...BASE, "--nodelist=n[3-1]"], "`--nodelist`: invalid hostlist `n[3-1]`"],
    [[...BASE, "--node-rank=1"], "`--node-rank` needs `--nodelist`"],
    [[...BASE, "--nodelist=a,b", "--node-rank=2"], "`--node-rank` is 2 but `--nodelist` has 2 node(s)"],
    [[...BASE, "--privileged=maybe"], "`--privileged` expects true or false"],
  ])("%j → %s", (argv, message) => {
    const error = catchUserError(() => parseRunArgs(argv, {}));
    expect(error.message).toContain(message);
    expect(error.exitCode).toBe(2);
    expect(error.hint).toBeTruthy();
  });

  test("an env value error names the variable", () => {
    expect(() => parseRunArgs(BASE, { SRUN_DOCKER_LAUNCHER: "x" })).toThrow(
      "`SRUN_DOCKER_LAUNCHER` expects one of ssh|each",
    );
  });
});

test("random argv never throws anything but a UserError", () => {
  const word = fc.oneof(
    fc.constantFrom(
      "--container",
      "--script",
      "--slots_per_node",
      "--nodelist",
      "--node-rank",
      "--gpus",
      "--dockopts",
      "--",
      "-h",
      "--privileged",
    ),
    fc.string(),
    fc
      .tuple(
        fc.constantFrom("--container=", "--script=", "--timeout=", "--memlock=", "--nodelist=", "--dockopts=", "--x="),
        fc.string(),
      )
      .map(([a, b]) => a + b),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 8 }), fc.boolean(), (argv, withBase) => {
      try {
        parseRunArgs(withBase ? [...BASE, ...argv] : argv, {});
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
      }
    }),
    { numRuns: 2000 },
  );
});

function catchUserError(run: () => unknown): UserError {
  try {
    run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error("expected a UserError");
}

test("--dockopts that no shell could read is a usage error, not a crash", () => {
  expect(() => parseRunArgs(["--container=x", "--script=y", "--dockopts=${"], {})).toThrow(
    expect.objectContaining({
      exitCode: 2,
      message: expect.stringContaining("`--dockopts` expects docker options a shell could read"),
    }),
  );
});

describe("--remote", () => {
  const base = ["--container=x", "--script=y"];
  test.each<[string, string[], NodeJS.ProcessEnv, "agent" | "sshd"]>([
    ["the agent by default", [], {}, "agent"],
    ["sshd when asked", ["--remote=sshd"], {}, "sshd"],
    ["from the environment", [], { SRUN_DOCKER_REMOTE: "sshd" }, "sshd"],
    ["--sshdport implies sshd", ["--sshdport=2222"], {}, "sshd"],
    ["--sshconfigdir implies sshd", ["--sshconfigdir=/h/mpisshconfig"], {}, "sshd"],
    [
      "they override an agent default from the environment",
      ["--sshdport=2222"],
      { SRUN_DOCKER_REMOTE: "agent" },
      "sshd",
    ],
  ])("%s", (_name, args, env, remote) => {
    expect(parseRunArgs([...base, ...args], env).remote).toBe(remote);
  });

  test.each([
    [["--remote=agent", "--sshdport=2222"], "`--remote=agent` and `--sshdport` contradict each other"],
    [["--remote=agent", "--sshconfigdir=/d"], "`--remote=agent` and `--sshconfigdir` contradict each other"],
    [["--remote=ssh"], "`--remote` expects"],
  ])("%j is a usage error", (args, message) => {
    expect(() => parseRunArgs([...base, ...args], {})).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }),
    );
  });

  test("is not passed through to the script any more", () => {
    expect(parseRunArgs([...base, "--remote=sshd", "--", "--remote=x"], {}).scriptArgs).toEqual(["--remote=x"]);
  });
});

describe("--launcher=srun", () => {
  test("the words after -- are the program each task runs, not a script in this directory", () => {
    const o = parseRunArgs(["--container=x", "--launcher=srun", "--", "python3", "app.py", "--epochs", "2"], {});
    expect(o).toMatchObject({ launcher: "srun", program: ["python3", "app.py", "--epochs", "2"], script: "python3" });
  });

  test("--script works as with the other launchers", () => {
    const o = parseRunArgs(["--container=x", "--launcher=srun", "--script=./train.sh", "--", "a"], {});
    expect(o).toMatchObject({ program: undefined, script: "./train.sh", scriptArgs: ["a"] });
  });

  test.each([
    [["--container=x", "--launcher=srun"], "`--launcher=srun` needs the program each task runs"],
    [["--container=x", "--launcher=srun", "--epochs=2", "--", "python3"], "unknown option `--epochs=2`"],
  ])("%j is a usage error", (args, message) => {
    expect(() => parseRunArgs(args, {})).toThrow(
      expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) }),
    );
  });
});

describe("nothing to run, on srun --pty's terminal: a shell in the container", () => {
  const pty = { SLURM_PTY_PORT: "40141" };

  test.each([[["--container=x"]], [["--container=x", "--launcher=srun"]]])("%j runs the shell", (args) => {
    const o = parseRunArgs(args, pty);
    expect(o).toMatchObject({ launcher: "srun", program: INTERACTIVE_SHELL, script: "/bin/sh" });
  });

  test.each([
    [["--container=x"], {}, "`--script` is required"],
    [["--container=x", "--launcher=ssh"], pty, "`--script` is required"],
    [["--container=x", "--launcher=each"], pty, "`--script` is required"],
  ])("%j with %j still needs a script", (args, env, message) => {
    expect(() => parseRunArgs(args, env)).toThrow(
      expect.objectContaining({ message: expect.stringContaining(message) }),
    );
  });

  test("a program or a script given on the terminal runs as before", () => {
    expect(parseRunArgs(["--container=x", "--launcher=srun", "--", "bash"], pty).program).toEqual(["bash"]);
    expect(parseRunArgs(["--container=x", "--script=./a.sh"], pty)).toMatchObject({
      launcher: "ssh",
      program: undefined,
    });
  });
});

describe("--container-name and --container-save", () => {
  const srun = (...argv: string[]) => parseRunArgs(["--container=img", "--launcher=srun", ...argv, "--", "true"], {});
  test("with the srun launcher: the name and the archive as given", () => {
    const o = srun("--container-name=dev_1", "--container-save=out/saved.tar");
    expect([o.containerName, o.containerSave]).toEqual(["dev_1", "out/saved.tar"]);
    expect([run().containerName, run().containerSave]).toEqual([undefined, undefined]);
  });

  test.each([
    [["--container-name=a.r1"], "`--container-name=a.r1` is not a name"],
    [["--container-name=../x"], "`--container-name=../x` is not a name"],
    [["--container-save=saved.tgz"], "`--container-save=saved.tgz` must name a .tar file"],
  ])("%j: usage error", (argv, message) => {
    expect(() => srun(...argv)).toThrow(message);
  });

  test.each([
    ["--container-name=dev", "`--container-name` needs --launcher=srun (this run's launcher is ssh)"],
    ["--container-save=x.tar", "`--container-save` needs --launcher=srun (this run's launcher is ssh)"],
  ])("%s with another launcher: usage error, exit 2", (option, message) => {
    let error: unknown;
    try {
      run(option);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(message);
    expect((error as UserError).exitCode).toBe(2);
  });
});
