import { describe, expect, it } from "vitest";
import { renderLegacySshConfigBlock, renderLegacySshdConfig } from "./legacy-ssh-config.js";

describe("legacy sshconfig renderers", () => {
  it("says to replace the placeholder host pattern", () => {
    expect(renderLegacySshConfigBlock("/h/c", 12345)).toMatch(/^# .*\n# Replace node\* .*\nHost node\*\n/);
  });

  it("writes a key-only sshd_config with the directory's host keys", () => {
    expect(renderLegacySshdConfig("/h/c", 12345)).toBe(
      [
        "# Written by `srun-docker sshconfig`: an sshd run by the user inside job containers.",
        "Port 12345",
        "HostKey /h/c/ssh_host_ed25519_key",
        "HostKey /h/c/ssh_host_ecdsa_key",
        "AuthorizedKeysFile /h/c/authorized_keys .ssh/authorized_keys",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin no",
        "UsePAM no",
        "StrictModes no",
        "X11Forwarding no",
        "PrintMotd no",
        "AcceptEnv LANG LC_*",
        "",
      ].join("\n"),
    );
  });
});
