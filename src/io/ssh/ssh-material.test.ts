import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../core/common/index.js";
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
  it("creates a private directory with a secret and the jobs' directory, and nothing else", async () => {
    const dir = join(base, ".srun-docker");
    const m = await ensureUserMaterial(dir);
    expect(m.created).toBe(true);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, "secret"))).toBe(0o600);
    expect(await mode(m.jobsDir)).toBe(0o700);
    expect((await readdir(dir)).sort()).toEqual(["jobs", "secret"]);
    expect(m.secret).toHaveLength(32);
    expect(await readFile(join(dir, "secret"))).toEqual(m.secret);

    const again = await ensureUserMaterial(dir);
    expect(again.created).toBe(false);
    expect(again.secret).toEqual(m.secret);
  });

  it("ends with one consistent directory when 8 processes start at once", async () => {
    const dir = join(base, ".srun-docker");
    const script = await bundleRunner();
    const startAt = String(Date.now() + 700);
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const { stdout } = await promisify(execFile)(process.execPath, [script, dir, startAt]);
        return JSON.parse(stdout) as { created: boolean; secret: string };
      }),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.secret)).size).toBe(1);
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
    expect(await mode(join(dir, "secret"))).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(["asuser", "cache", "jobs", "secret"]);
    expect((await ensureUserMaterial(dir)).secret).toEqual(m.secret);
  });

  it("makes a lost secret again", async () => {
    const dir = join(base, "m");
    const m = await ensureUserMaterial(dir);
    await unlink(join(dir, "secret"));
    const again = await ensureUserMaterial(dir);
    expect(again.secret).toHaveLength(32);
    expect(again.secret).not.toEqual(m.secret);
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
        return JSON.parse(stdout) as { created: boolean; secret: string };
      }),
    );
    expect(results.filter((r) => r.created)).toHaveLength(0);
    expect(new Set(results.map((r) => r.secret)).size).toBe(1);
    const onDisk = await ensureUserMaterial(dir);
    expect(onDisk.secret.toString("hex")).toBe(results[0]?.secret);
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

  it("refuses a readable secret, a foreign owner, a damaged secret", async () => {
    const dir = join(base, "m");
    await ensureUserMaterial(dir);
    const secret = join(dir, "secret");
    await chmod(secret, 0o644);
    await expect(ensureUserMaterial(dir)).rejects.toThrow(`${secret} is open to other users (mode 0644)`);
    await chmod(secret, 0o600);
    await expect(ensureUserMaterial(dir, { uid: 4242 })).rejects.toThrow(/belongs to uid \d+, not to you \(uid 4242\)/);
    await writeFile(secret, "short");
    await expect(ensureUserMaterial(dir)).rejects.toThrow(/secret is damaged \(5 bytes, expected 32\)/);
  });

  it("keeps what an older srun-docker left beside the secret (its ssh keys), unused", async () => {
    const dir = join(base, "m");
    await ensureUserMaterial(dir);
    await writeFile(join(dir, "id_ed25519"), "an old key", { mode: 0o600 });
    const m = await ensureUserMaterial(dir);
    expect(m.secret).toHaveLength(32);
    expect(await readFile(join(dir, "id_ed25519"), "utf8")).toBe("an old key");
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
console.log(JSON.stringify({ created: m.created, secret: m.secret.toString("hex") }));
`,
  );
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, logLevel: "silent" });
  await unlink(entry);
  return outfile;
}
