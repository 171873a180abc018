// `srun-docker asuser --dry-run` through the bundled bin: it calls no engine and writes
// nothing, and what it prints is the argv the real run gives the engine, quoted so a shell
// (and shell-quote's parse) gives it back word for word. The engine is a stub that records
// every call; the real run it is compared with answers from the same stub.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "shell-quote";
import { afterAll, beforeEach, describe, expect, test } from "vitest";

const BIN = path.resolve(import.meta.dirname, "../../dist/srun-docker.cjs");
const root = mkdtempSync(path.join(tmpdir(), "srun-docker-asuser-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const stubs = path.join(root, "bin");
const calls = path.join(root, "calls");
const home = path.join(root, "home with space");
const work = path.join(root, "work");
// Each call leaves one file of NUL-terminated words; `image inspect`, `create` and `cp` answer
// as an engine would, so a real (not dry) run can get as far as `run`.
const STUB = `#!/bin/sh
n=$(ls "${calls}" | wc -l)
{ printf '%s\\0' "$(basename "$0")"; for a in "$@"; do printf '%s\\0' "$a"; done; } > "${calls}/$n"
case "$1" in
  image) echo sha256:0123456789abcdef ;;
  create) echo c0ffee ;;
  cp) printf 'root:x:0:0:root:/root:/bin/sh\\n' > "$4" ;;
esac
exit 0
`;

mkdirSync(stubs);
for (const name of ["docker", "podman", "nvidia-smi"]) {
  writeFileSync(path.join(stubs, name), STUB);
  chmodSync(path.join(stubs, name), 0o755);
}

beforeEach(() => {
  for (const dir of [calls, home, work]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
  }
});

function srunDocker(args: readonly string[], extraEnv: Record<string, string> = {}) {
  const env = {
    PATH: `${stubs}:/usr/bin:/bin`,
    HOME: home,
    // No engine socket: a dry run that asked Docker's Engine API anything would fail here.
    DOCKER_HOST: `unix://${path.join(root, "no-docker.sock")}`,
    ...extraEnv,
  };
  return spawnSync(process.execPath, [BIN, "asuser", ...args], { cwd: work, env, encoding: "utf8", timeout: 20_000 });
}

function recordedCalls(): string[][] {
  return readdirSync(calls)
    .sort((a, b) => Number(a) - Number(b))
    .map((file) => readFileSync(path.join(calls, file), "utf8").split("\0").slice(0, -1));
}

/** Every file and directory under `dir`, relative. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

/** The printed commands (one per line outside quotes, `#` comments left out), parsed back into words. */
function commandsOf(stdout: string): string[][] {
  const texts: string[] = [];
  let current = "";
  let quoted: string | undefined;
  for (let i = 0; i < stdout.length; i++) {
    const ch = stdout[i] ?? "";
    if (quoted === undefined && ch === "#" && /(^|\s)$/.test(current)) {
      while (i + 1 < stdout.length && stdout[i + 1] !== "\n") i++;
    } else if (quoted === undefined && ch === "\n") {
      texts.push(current);
      current = "";
    } else if (ch === "\\" && quoted !== "'") {
      current += ch + (stdout[++i] ?? "");
    } else {
      if (ch === quoted) quoted = undefined;
      else if (quoted === undefined && (ch === "'" || ch === '"')) quoted = ch;
      current += ch;
    }
  }
  return texts
    .filter((text) => text.trim() !== "")
    .map((text) => {
      const words = parse(text);
      for (const word of words) expect(typeof word, `${JSON.stringify(word)} in ${text}`).toBe("string");
      return words as string[];
    });
}

const tricky = [
  "--container=registry.example:5000/team/img:1.0",
  `--dockopts=-v "/data/a b:/mnt/x y" --env X='$HOME; rm -rf /' --label "it's=\\"q\\""`,
  "--envlist=HOME,PATH",
  `--workdir=${path.join("/tmp", "dir with 'quote'")}`,
];

describe("asuser --dry-run", () => {
  test.each([
    ["interactive", []],
    ["noninteractive", ["--noninteractive", `--dockcmd=bash -c "echo it's \\$HOME; ls * | wc -l"`]],
    ["daemon in a job", ["--daemon", '--dockcmd=sleep "1 2"'], { SLURM_JOB_ID: "42" }],
    ["podman, userdefault", ["--runtime=podman", "--userdefault", "--keepalive"]],
    ["docker in docker", ["--dockindock", "--workdir=default"]],
  ] as Array<[string, string[], Record<string, string>?]>)(
    "%s: no engine call, no file, a pasteable plan",
    (_, args, extraEnv) => {
      expect(existsSync(BIN), `${BIN} is missing: run npm run build first`).toBe(true);
      const before = tree(root);
      const r = srunDocker([...tricky, ...args, "--dry-run"], extraEnv);
      expect(r.status, r.stderr).toBe(0);
      expect(recordedCalls()).toEqual([]);
      expect(tree(root)).toEqual(before);

      const commands = commandsOf(r.stdout);
      const runtime = args.includes("--runtime=podman") ? "podman" : "docker";
      expect(commands[0]?.slice(0, 2)).toEqual([runtime, "run"]);
      const run = commands[0] ?? [];
      expect(run).toContain("registry.example:5000/team/img:1.0");
      expect(run.join("\n")).toContain(["-v", "/data/a b:/mnt/x y", "--env", "X=$HOME; rm -rf /"].join("\n"));
      expect(run).toContain(`it's="q"`);

      // Pasted into a POSIX shell, the plan runs the stub with exactly the words parse gave.
      const sh = spawnSync("/bin/sh", ["-c", r.stdout], { env: { PATH: `${stubs}:/usr/bin:/bin` }, cwd: work });
      expect(sh.status, String(sh.stderr)).toBe(0);
      expect(recordedCalls()).toEqual(commands);
    },
  );

  test.each([
    ["as the user", ["--noninteractive", `--dockcmd=printf '%s\\n' "a b" '$X'`]],
    ["--userdefault", ["--noninteractive", "--userdefault", "--dockcmd=true"]],
  ])("%s: the printed run is the real run's argv", (_, args) => {
    // A docker reached over tcp: srun-docker asks the CLI (the stub) everything, the image
    // inspection too, which it asks the Engine API where there is a unix socket (that side is
    // tested against a fake daemon in src/io/engine/docker-api-queries.test.ts).
    const overTcp = { DOCKER_HOST: "tcp://127.0.0.1:9" };
    const dry = srunDocker([...tricky, ...args, "--dry-run"], overTcp);
    expect(dry.status, dry.stderr).toBe(0);
    const printed = commandsOf(dry.stdout)[0];

    const real = srunDocker([...tricky, ...args], overTcp);
    expect(real.status, real.stderr).toBe(0);
    const engineRun = recordedCalls().find((call) => call[1] === "run");
    expect(engineRun).toEqual(printed);
  });

  test("the plan says what only the engine can tell instead of inventing it", () => {
    const asUser = srunDocker(["--container=img", "--dry-run"]);
    expect(asUser.stdout).toMatch(/^# .*reads \/etc\/passwd and \/etc\/group of img through the engine/m);
    const userdefault = srunDocker(["--container=img", "--userdefault", "--workdir=default", "--dry-run"]);
    expect(userdefault.stdout).toMatch(/^# .*the image's own user/m);
    expect(userdefault.stdout).toMatch(/^# Working directory: the image's own/m);
  });
});
