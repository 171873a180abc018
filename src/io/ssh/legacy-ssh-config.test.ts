import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renderLegacySshConfigBlock } from "../../core/ssh/index.js";
import { runCommand } from "../process/index.js";
import { createLegacySshConfigDir } from "./legacy-ssh-config.js";

let base: string;
beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "srun-docker-legacy-"));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("createLegacySshConfigDir", () => {
  it("writes host keys, a client key and an sshd_config for the port", async () => {
    const dir = join(base, "mpisshconfig");
    const result = await createLegacySshConfigDir(dir, 12345, { hostPatterns: ["dgx*", "hsw*"] });
    expect((await readdir(dir)).sort()).toEqual([
      "authorized_keys",
      "id_ed25519",
      "id_ed25519.pub",
      "known_hosts",
      "ssh_host_ecdsa_key",
      "ssh_host_ecdsa_key.pub",
      "ssh_host_ed25519_key",
      "ssh_host_ed25519_key.pub",
      "sshd_config",
    ]);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const key of ["id_ed25519", "ssh_host_ed25519_key", "ssh_host_ecdsa_key"]) {
      expect((await stat(join(dir, key))).mode & 0o777).toBe(0o600);
    }
    const sshd = await readFile(result.sshdConfigPath, "utf8");
    for (const line of [
      "Port 12345",
      `HostKey ${dir}/ssh_host_ed25519_key`,
      "UsePAM no",
      "StrictModes no",
      "PasswordAuthentication no",
      "PermitRootLogin no",
    ]) {
      expect(sshd.split("\n")).toContain(line);
    }
    expect(await readFile(result.knownHostsPath, "utf8")).toMatch(/^srun-docker-containers ssh-ed25519 /);
    expect(result.sshConfigBlock).toBe(renderLegacySshConfigBlock(dir, 12345, ["dgx*", "hsw*"]));
    expect(result.sshConfigBlock).toContain("Host dgx* hsw*\n    Port 12345\n");
  });

  it("writes a config sshd accepts", async () => {
    expect(existsSync("/usr/sbin/sshd"), "sshd -t needs openssh-server: run scripts/setup-host.sh").toBe(true);
    const dir = join(base, "c");
    await createLegacySshConfigDir(dir, 2222);
    const r = await runCommand("/usr/sbin/sshd", ["-t", "-f", join(dir, "sshd_config")]);
    expect(r.stderr).not.toMatch(/Bad configuration|Unsupported option|Deprecated option/);
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it("keeps an existing directory unless forced", async () => {
    const dir = join(base, "c");
    const first = await createLegacySshConfigDir(dir, 2222);
    const key = await readFile(first.clientKeyPath, "utf8");
    await expect(createLegacySshConfigDir(dir, 2222)).rejects.toMatchObject({
      code: "sshconfig-exists",
      hint: expect.stringContaining("--force"),
    });
    await createLegacySshConfigDir(dir, 3333, { force: true });
    expect(await readFile(first.clientKeyPath, "utf8")).not.toBe(key);
    expect(await readdir(base)).toEqual(["c"]);
  });
});
