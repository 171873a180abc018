// The credential lookups against real files and a real helper program on PATH (the helper
// protocol is the unit: `get`, the server URL on stdin, JSON on stdout).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseImageReference } from "../../core/image/index.js";
import { defaultCredentialDeps, readDockerCredentials, readPodmanCredentials } from "./registry-credentials.js";

let dir: string;
const b64 = (text: string) => Buffer.from(text).toString("base64");

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "registry-credentials-"));
  mkdirSync(path.join(dir, "bin"));
  // Knows reg.example:5000 (a user) and token.example (an identity token); logs each ask.
  const helper = `#!/bin/sh
[ "$1" = get ] || exit 3
read -r server
echo "$server" >> "${dir}/asked"
case "$server" in
  reg.example:5000) echo '{"ServerURL":"reg.example:5000","Username":"alice","Secret":"from-helper"}' ;;
  token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-1"}' ;;
  broken.example) echo 'keyring is locked' >&2; exit 1 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
`;
  writeFileSync(path.join(dir, "bin", "docker-credential-fake"), helper);
  chmodSync(path.join(dir, "bin", "docker-credential-fake"), 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh home with `files` (relative path → JSON) and the fake helper on PATH. */
function home(files: Record<string, object>, env: NodeJS.ProcessEnv = {}) {
  const h = mkdtempSync(path.join(dir, "home-"));
  for (const [file, json] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(h, file)), { recursive: true });
    writeFileSync(path.join(h, file), JSON.stringify(json));
  }
  rmSync(path.join(dir, "asked"), { force: true });
  return {
    home: h,
    deps: { ...defaultCredentialDeps({ PATH: `${dir}/bin:/usr/bin:/bin`, HOME: h, ...env }), uid: 4242 },
  };
}
const asked = () => readFileSync(path.join(dir, "asked"), "utf8").trim().split("\n");
const ref = (text: string) => parseImageReference(text);

describe("docker", () => {
  test("no config.json: anonymous", async () => {
    const { deps } = home({});
    expect(await readDockerCredentials(ref("reg.example:5000/app"), deps)).toMatchObject({
      auth: { kind: "anonymous" },
    });
  });

  test("an auths entry: base64 user:password; Docker Hub under its v1 URL", async () => {
    const { home: h, deps } = home({
      ".docker/config.json": {
        auths: {
          "reg.example:5000": { auth: b64("bob:pw1") },
          "https://index.docker.io/v1/": { auth: b64("hub:pw2") },
        },
      },
    });
    expect(await readDockerCredentials(ref("reg.example:5000/app:1"), deps)).toEqual({
      auth: { kind: "basic", username: "bob", password: "pw1" },
      from: `\`reg.example:5000\` in ${h}/.docker/config.json`,
    });
    expect((await readDockerCredentials(ref("ubuntu"), deps)).auth).toEqual({
      kind: "basic",
      username: "hub",
      password: "pw2",
    });
  });

  test("DOCKER_CONFIG moves the file", async () => {
    const { home: h, deps } = home({ "elsewhere/config.json": { auths: { "r.io": { auth: b64("c:d") } } } });
    const moved = { ...deps, env: { ...deps.env, DOCKER_CONFIG: `${h}/elsewhere` } };
    expect((await readDockerCredentials(ref("r.io/app"), moved)).auth).toMatchObject({ username: "c" });
  });

  test("credsStore: the helper gets the server URL on stdin; its answer is the login", async () => {
    const { deps } = home({ ".docker/config.json": { auths: { "reg.example:5000": {} }, credsStore: "fake" } });
    const found = await readDockerCredentials(ref("reg.example:5000/app"), deps);
    expect(found.auth).toEqual({ kind: "basic", username: "alice", password: "from-helper" });
    expect(found.from).toMatch(/^docker-credential-fake \(named in .*config\.json\)$/);
    expect(found.from).not.toContain("from-helper");
    expect(asked()).toEqual(["reg.example:5000"]);
  });

  test("credHelpers for Docker Hub: the helper is asked for https://index.docker.io/v1/; not found is anonymous", async () => {
    const { deps } = home({ ".docker/config.json": { credHelpers: { "https://index.docker.io/v1/": "fake" } } });
    expect((await readDockerCredentials(ref("ubuntu"), deps)).auth).toEqual({ kind: "anonymous" });
    expect(asked()).toEqual(["https://index.docker.io/v1/"]);
  });

  test("a helper's <token> answer is an identity token", async () => {
    const { deps } = home({ ".docker/config.json": { credHelpers: { "token.example": "fake" } } });
    expect((await readDockerCredentials(ref("token.example/app"), deps)).auth).toEqual({
      kind: "identity-token",
      username: "",
      token: "refresh-1",
    });
  });

  test("a helper that fails otherwise is an error naming it and the registry", async () => {
    const { deps } = home({ ".docker/config.json": { credsStore: "fake" } });
    await expect(readDockerCredentials(ref("broken.example/app"), deps)).rejects.toThrow(
      "`docker-credential-fake get` failed for broken.example (exit 1: keyring is locked)",
    );
  });

  test("a helper that is not installed: the error names it and the file", async () => {
    const { home: h, deps } = home({ ".docker/config.json": { credsStore: "desktop" } });
    await expect(readDockerCredentials(ref("r.io/app"), deps)).rejects.toThrow(
      `${h}/.docker/config.json names the credential helper \`docker-credential-desktop\`, which is not on PATH`,
    );
  });

  test("a config.json that is not JSON is an error naming it", async () => {
    const { home: h, deps } = home({});
    mkdirSync(path.join(h, ".docker"));
    writeFileSync(path.join(h, ".docker/config.json"), "{oops");
    await expect(readDockerCredentials(ref("r.io/app"), deps)).rejects.toThrow(
      `${h}/.docker/config.json is not a JSON object`,
    );
  });
});

describe("podman", () => {
  test("XDG_RUNTIME_DIR's auth.json comes first, then ~/.config, then docker's", async () => {
    const { home: h, deps } = home({
      "run/containers/auth.json": { auths: { "a.io": { auth: b64("run:1") } } },
      ".config/containers/auth.json": { auths: { "a.io": { auth: b64("cfg:2") }, "b.io": { auth: b64("cfg:3") } } },
      ".docker/config.json": { auths: { "c.io": { auth: b64("dock:4") } } },
    });
    const withRuntime = { ...deps, env: { ...deps.env, XDG_RUNTIME_DIR: `${h}/run` } };
    const users = await Promise.all(
      ["a.io/x", "b.io/x", "c.io/x"].map(async (r) => (await readPodmanCredentials(ref(r), withRuntime)).auth),
    );
    expect(users.map((a) => (a.kind === "basic" ? a.username : a.kind))).toEqual(["run", "cfg", "dock"]);
    const none = await readPodmanCredentials(ref("d.io/x"), withRuntime);
    expect(none.auth).toEqual({ kind: "anonymous" });
    expect(none.from).toContain(`${h}/run/containers/auth.json, ${h}/.config/containers/auth.json`);
  });

  test("REGISTRY_AUTH_FILE is the only file; a namespace key beats the registry's", async () => {
    const { home: h, deps } = home({
      "mine.json": { auths: { "a.io": { auth: b64("reg:1") }, "a.io/team": { auth: b64("team:2") } } },
      ".config/containers/auth.json": { auths: { "b.io": { auth: b64("cfg:3") } } },
    });
    const only = { ...deps, env: { ...deps.env, REGISTRY_AUTH_FILE: `${h}/mine.json` } };
    expect((await readPodmanCredentials(ref("a.io/team/app"), only)).auth).toMatchObject({ username: "team" });
    expect((await readPodmanCredentials(ref("a.io/other/app"), only)).auth).toMatchObject({ username: "reg" });
    expect((await readPodmanCredentials(ref("b.io/x"), only)).auth).toEqual({ kind: "anonymous" });
  });

  test("credHelpers by registry host; Docker Hub as docker.io", async () => {
    const { deps } = home({
      ".config/containers/auth.json": { credHelpers: { "reg.example:5000": "fake", "docker.io": "fake" } },
    });
    expect((await readPodmanCredentials(ref("reg.example:5000/app"), deps)).auth).toMatchObject({ username: "alice" });
    expect((await readPodmanCredentials(ref("ubuntu"), deps)).auth).toEqual({ kind: "anonymous" });
    expect(asked()).toEqual(["reg.example:5000", "docker.io"]);
  });
});
