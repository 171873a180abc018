import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../core/errors.js";
import { ensureUserMaterial } from "./ssh-material.js";

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "srun-docker-material-"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe("ensureUserMaterial", () => {
  it("creates a private directory with keys, authorized_keys and a secret", async () => {
    const dir = join(base, ".srun-docker");
    const m = await ensureUserMaterial(dir);
    expect(m.created).toBe(true);
    expect(await mode(dir)).toBe(0o700);
    for (const path of [m.clientKeyPath, m.hostKeyPath, m.authorizedKeysPath, join(dir, "secret")]) {
      expect(await mode(path)).toBe(0o600);
    }
    expect(await mode(m.jobsDir)).toBe(0o700);
    expect(m.secret).toHaveLength(32);
    expect(m.hostPublicKey).toMatch(/^ssh-ed25519 \S+ srun-docker host /);
    const clientPublicKey = (await readFile(m.clientPublicKeyPath, "utf8")).trim();
    expect(await readFile(m.authorizedKeysPath, "utf8")).toBe(
      `no-agent-forwarding,no-X11-forwarding ${clientPublicKey}\n`,
    );

    const again = await ensureUserMaterial(dir);
    expect(again.created).toBe(false);
    expect(again.secret).toEqual(m.secret);
    expect(again.hostPublicKey).toBe(m.hostPublicKey);
  });

  it("ends with one consistent directory when 8 processes start at once", async () => {
    const dir = join(base, ".srun-docker");
    const script = await bundleRunner();
    const startAt = String(Date.now() + 700);
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const { stdout } = await promisify(execFile)(process.execPath, [script, dir, startAt]);
        return JSON.parse(stdout) as { created: boolean; secret: string; hostPublicKey: string };
      }),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => `${r.secret} ${r.hostPublicKey}`)).size).toBe(1);
    const onDisk = await ensureUserMaterial(dir);
    expect(onDisk.secret.toString("hex")).toBe(results[0]?.secret);
    expect((await readdir(base)).sort()).toEqual([".srun-docker", "runner.mjs"]);
  }, 15_000);

  it("completes a directory that `asuser` and the image cache made first, keeping what they put there", async () => {
    const dir = join(base, ".srun-docker");
    await mkdir(join(dir, "cache"), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, "asuser", "alice_dock"), { recursive: true });
    await writeFile(join(dir, "asuser", "alice_dock", "passwd"), "alice:x:1001:1001::/home/alice:/bin/sh\n");
    const m = await ensureUserMaterial(dir);
    expect(m.created).toBe(false);
    expect(m.secret).toHaveLength(32);
    for (const path of [m.clientKeyPath, m.hostKeyPath, m.authorizedKeysPath, m.secretPath]) {
      expect(await mode(path)).toBe(0o600);
    }
    const clientPublicKey = (await readFile(m.clientPublicKeyPath, "utf8")).trim();
    expect(await readFile(m.authorizedKeysPath, "utf8")).toContain(clientPublicKey);
    expect((await readdir(dir)).sort()).toEqual([
      "asuser",
      "authorized_keys",
      "cache",
      "id_ed25519",
      "id_ed25519.pub",
      "jobs",
      "secret",
      "ssh_host_ed25519_key",
      "ssh_host_ed25519_key.pub",
    ]);
    expect((await ensureUserMaterial(dir)).secret).toEqual(m.secret);
  });

  it("makes a lost set again (the secret), and leaves the others as they were", async () => {
    const dir = join(base, "m");
    const m = await ensureUserMaterial(dir);
    await unlink(m.secretPath);
    const again = await ensureUserMaterial(dir);
    expect(again.secret).not.toEqual(m.secret);
    expect(again.hostPublicKey).toBe(m.hostPublicKey);
    expect(await readFile(again.clientKeyPath)).toEqual(await readFile(m.clientKeyPath));
  });

  it("does not complete through a symbolic link, nor over one where a key should be", async () => {
    const real = join(base, "real");
    await mkdir(join(real, "cache"), { recursive: true, mode: 0o700 });
    const linked = join(base, "linked");
    await symlink(real, linked);
    await expect(ensureUserMaterial(linked)).rejects.toThrow(`${linked} is incomplete, and a symbolic link`);
    await symlink("/nowhere", join(real, "secret"));
    await expect(ensureUserMaterial(real)).rejects.toThrow(`${real} is incomplete: secret is not a plain file`);
    expect((await readdir(real)).sort()).toEqual(["cache", "secret"]);
  });

  it("completes one consistent set when 8 processes find it incomplete at once", async () => {
    const dir = join(base, ".srun-docker");
    await mkdir(join(dir, "cache"), { recursive: true, mode: 0o700 });
    const script = await bundleRunner();
    const startAt = String(Date.now() + 700);
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const { stdout } = await promisify(execFile)(process.execPath, [script, dir, startAt]);
        return JSON.parse(stdout) as { created: boolean; secret: string; hostPublicKey: string };
      }),
    );
    expect(results.filter((r) => r.created)).toHaveLength(0);
    expect(new Set(results.map((r) => `${r.secret} ${r.hostPublicKey}`)).size).toBe(1);
    const onDisk = await ensureUserMaterial(dir);
    expect(onDisk.secret.toString("hex")).toBe(results[0]?.secret);
    const clientPublicKey = (await readFile(onDisk.clientPublicKeyPath, "utf8")).trim();
    expect(await readFile(onDisk.authorizedKeysPath, "utf8")).toContain(clientPublicKey);
    expect((await readdir(dir)).filter((name) => name.startsWith("."))).toEqual([]);
  }, 15_000);

  it("agrees with itself under Promise.all in one process", async () => {
    const dir = join(base, "m");
    const all = await Promise.all(Array.from({ length: 8 }, () => ensureUserMaterial(dir)));
    expect(new Set(all.map((m) => m.secret.toString("hex"))).size).toBe(1);
    expect(await readdir(base)).toEqual(["m"]);
  });

  it("refuses a directory other users can read, with a chmod hint", async () => {
    const dir = join(base, "m");
    await ensureUserMaterial(dir);
    await chmod(dir, 0o755);
    const error = await ensureUserMaterial(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      message: `${dir} is open to other users (mode 0755); it holds private keys`,
      hint: expect.stringContaining(`chmod 700 ${dir}`),
    });
  });

  it("refuses a readable private key, an incomplete dir, a damaged secret, a foreign owner", async () => {
    const dir = join(base, "m");
    const m = await ensureUserMaterial(dir);
    await chmod(m.hostKeyPath, 0o644);
    await expect(ensureUserMaterial(dir)).rejects.toThrow(`${m.hostKeyPath} is open to other users (mode 0644)`);
    await chmod(m.hostKeyPath, 0o600);
    await expect(ensureUserMaterial(dir, { uid: 4242 })).rejects.toThrow(/belongs to uid \d+, not to you \(uid 4242\)/);
    await writeFile(join(dir, "secret"), "short");
    await expect(ensureUserMaterial(dir)).rejects.toThrow(/secret is damaged \(5 bytes, expected 32\)/);
    await unlink(m.clientPublicKeyPath);
    await expect(ensureUserMaterial(dir)).rejects.toMatchObject({
      message: `${dir} is incomplete: id_ed25519.pub is missing`,
      hint: `remove it (rm -rf ${dir}); srun-docker creates it again on the next run`,
    });
  });

  it("reports a missing ssh-keygen and leaves nothing behind", async () => {
    const dir = join(base, "m");
    await expect(ensureUserMaterial(dir, { sshKeygen: "srun-docker-no-ssh-keygen" })).rejects.toMatchObject({
      code: "command-not-found",
    });
    expect(await readdir(base)).toEqual([]);
  });
});

/** Bundles a tiny CLI around ensureUserMaterial that waits for a common start time. */
async function bundleRunner(): Promise<string> {
  const entry = join(base, "runner-entry.ts");
  const outfile = join(base, "runner.mjs");
  const module = fileURLToPath(new URL("./ssh-material.ts", import.meta.url));
  await writeFile(
    entry,
    `import { ensureUserMaterial } from ${JSON.stringify(module)};
const [dir, startAt] = process.argv.slice(2);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const m = await ensureUserMaterial(dir);
console.log(JSON.stringify({ created: m.created, secret: m.secret.toString("hex"), hostPublicKey: m.hostPublicKey }));
`,
  );
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, logLevel: "silent" });
  await unlink(entry);
  return outfile;
}
