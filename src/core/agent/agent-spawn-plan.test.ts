import { describe, expect, test } from "vitest";
import type { ExecRequest } from "./agent-messages.js";
import {
  type AgentSpawnInput,
  type AgentSpawnPlan,
  buildAgentSpawn,
  quoteForSh,
  SESSION_MARKER_VARIABLE,
  withSessionDefaults,
} from "./agent-spawn-plan.js";

const jobEnv = { PATH: "/usr/bin:/bin", HOME: "/home/alice", SHELL: "/bin/bash" };
const base: Omit<AgentSpawnInput, "request"> = {
  jobEnv,
  loginShell: "/bin/bash",
  scriptAvailable: true,
  sessionId: "s1",
};
const env = (extra: Record<string, string> = {}) => ({ ...jobEnv, ...extra, [SESSION_MARKER_VARIABLE]: "s1" });

describe("buildAgentSpawn", () => {
  test.each<[string, ExecRequest, Partial<typeof base>, AgentSpawnPlan]>([
    [
      "a command: sh -c, LANG from the client, TERM only with a pty",
      { command: "echo 'a b'", pty: false, term: "xterm", lang: "C.UTF-8" },
      {},
      { file: "/bin/sh", args: ["-c", "echo 'a b'"], env: env({ LANG: "C.UTF-8" }) },
    ],
    [
      "no command: the login shell, marked by argv[0] as sshd does",
      { pty: false },
      {},
      { file: "/bin/bash", args: [], argv0: "-bash", env: env() },
    ],
    [
      "a pty: under script, with the window size and the job's SHELL put back",
      { command: "top", pty: true, term: "xterm-256color", cols: 120, rows: 40 },
      {},
      {
        file: "script",
        args: ["-qfec", "stty rows 40 cols 120 2>/dev/null; SHELL='/bin/bash'; export SHELL; top", "/dev/null"],
        env: { ...env({ TERM: "xterm-256color" }), SHELL: "/bin/sh" },
      },
    ],
    [
      "a pty login shell, no window size, no SHELL in the job",
      { pty: true },
      { jobEnv: { PATH: "/bin" }, loginShell: "/bin/sh" },
      {
        file: "script",
        args: ["-qfec", "unset SHELL; exec '/bin/sh' -l", "/dev/null"],
        env: { PATH: "/bin", [SESSION_MARKER_VARIABLE]: "s1", SHELL: "/bin/sh" },
      },
    ],
    [
      "a pty without script: pipes, and a notice",
      { command: "vi", pty: true },
      { scriptAvailable: false },
      {
        file: "/bin/sh",
        args: ["-c", "vi"],
        env: env(),
        notice: "no pty: this image has no util-linux `script`; running without one (no job control, no line editing)",
      },
    ],
  ])("%s", (_name, request, overrides, expected) => {
    expect(buildAgentSpawn({ ...base, ...overrides, request })).toEqual(expected);
  });

  test("the client cannot replace the session marker", () => {
    const plan = buildAgentSpawn({ ...base, jobEnv: { [SESSION_MARKER_VARIABLE]: "forged" }, request: { pty: false } });
    expect(plan.env[SESSION_MARKER_VARIABLE]).toBe("s1");
  });
});

test.each([
  ["plain", "'plain'"],
  ["it's", `'it'\\''s'`],
  ["", "''"],
  ["$HOME `x`", "'$HOME `x`'"],
])("quoteForSh(%j) = %s", (word, quoted) => {
  expect(quoteForSh(word)).toBe(quoted);
});

describe("withSessionDefaults", () => {
  test("fills what sshd would set; the job's own values win", () => {
    expect(
      withSessionDefaults({ PATH: "/opt/bin", FOO: "1" }, { user: "alice", home: "/home/alice", shell: "/bin/sh" }),
    ).toEqual({
      PATH: "/opt/bin",
      USER: "alice",
      LOGNAME: "alice",
      HOME: "/home/alice",
      SHELL: "/bin/sh",
      FOO: "1",
    });
  });

  test("no user name (no passwd entry): no USER or LOGNAME; sshd's PATH", () => {
    expect(withSessionDefaults({}, { user: undefined, home: "/", shell: "/bin/sh" })).toEqual({
      PATH: "/usr/local/bin:/usr/bin:/bin",
      HOME: "/",
      SHELL: "/bin/sh",
    });
  });
});
