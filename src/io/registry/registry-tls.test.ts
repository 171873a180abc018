import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, expect, test } from "vitest";
import { engineCertsDirs, loadRegistryTrust } from "./registry-tls.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "registry-tls-"));
  const host = (root: string) => {
    mkdirSync(path.join(dir, root, "reg:5000"), { recursive: true });
    return (name: string, text: string) => writeFileSync(path.join(dir, root, "reg:5000", name), text);
  };
  const first = host("first");
  first("ca.crt", "CA-1");
  first("extra.crt", "CA-2");
  first("client.cert", "CERT-1");
  first("client.key", "KEY-1");
  first("lonely.cert", "no key beside it");
  first("notes.txt", "ignored");
  first("locked.crt", "unreadable");
  chmodSync(path.join(dir, "first", "reg:5000", "locked.crt"), 0);
  const second = host("second");
  second("ca.crt", "CA-3");
  second("client.cert", "CERT-2");
  second("client.key", "KEY-2");
  writeFileSync(path.join(dir, "bundle.pem"), "SYSTEM");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("system bundle + Node's roots + every *.crt of the host's dirs; the first client pair", async () => {
  const trust = await loadRegistryTrust("reg:5000", {
    engine: "podman",
    certsDirs: [path.join(dir, "first"), path.join(dir, "missing"), path.join(dir, "second")],
    systemBundles: [path.join(dir, "nope.pem"), path.join(dir, "bundle.pem")],
  });
  const extra = trust.ca.slice(rootCertificates.length);
  // A root's process can read a mode-0 file; anyone else cannot, and skips it as the engines do.
  const locked = process.getuid?.() === 0 ? ["unreadable"] : [];
  expect(extra).toEqual(["SYSTEM", "CA-1", "CA-2", ...locked, "CA-3"]);
  expect([trust.cert, trust.key]).toEqual(["CERT-1", "KEY-1"]);
  expect(trust.files).toContain(path.join(dir, "first", "reg:5000", "client.key"));
});

test("SSL_CERT_FILE names the system bundle", async () => {
  const trust = await loadRegistryTrust("other:1", {
    engine: "docker",
    env: { SSL_CERT_FILE: path.join(dir, "bundle.pem") },
    certsDirs: [],
  });
  expect(trust.ca.at(-1)).toBe("SYSTEM");
  expect(trust.cert).toBeUndefined();
});

test.each<["docker" | "podman", number, string[]]>([
  ["docker", 1000, ["/etc/docker/certs.d"]],
  ["podman", 1000, ["/h/.config/containers/certs.d", "/etc/containers/certs.d", "/etc/docker/certs.d"]],
  ["podman", 0, ["/etc/containers/certs.d", "/etc/docker/certs.d"]],
])("engineCertsDirs(%s, uid %i)", (engine, uid, expected) =>
  expect(engineCertsDirs(engine, "/h", uid)).toEqual(expected),
);
