/**
 * Whom a registry client trusts, as the engine would: the system's CAs (the files Go's
 * crypto/x509 reads on Linux, which dockerd and podman use, plus Node's own bundle), and the
 * engine's per-registry directory: `certs.d/<host:port>/*.crt` are CAs, `*.cert` with its
 * `*.key` a client certificate (docker: /etc/docker/certs.d; podman: also
 * ~/.config/containers/certs.d and /etc/containers/certs.d).
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { rootCertificates } from "node:tls";

export interface RegistryTrust {
  /** PEM certificates; replaces Node's default list, so it holds that list too. */
  readonly ca: readonly string[];
  readonly cert?: string;
  readonly key?: string;
  /** The files read, for `--debug`. */
  readonly files: readonly string[];
}

export interface TrustOptions {
  readonly engine: "docker" | "podman";
  readonly env?: NodeJS.ProcessEnv;
  readonly home?: string;
  readonly uid?: number;
  /** The certs.d roots to look in, instead of the engine's (tests). */
  readonly certsDirs?: readonly string[];
  /** The system bundles to try, instead of the usual places (tests). */
  readonly systemBundles?: readonly string[];
}

/** Where Go looks for the system's CA bundle on Linux; the first that exists is it. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
];

export function engineCertsDirs(engine: "docker" | "podman", home: string, uid: number): string[] {
  if (engine === "docker") return ["/etc/docker/certs.d"];
  const system = ["/etc/containers/certs.d", "/etc/docker/certs.d"];
  return uid === 0 ? system : [path.join(home, ".config", "containers", "certs.d"), ...system];
}

/** The trust for one registry host (`reg.example:5000`). Unreadable files are skipped, as the engines do. */
export async function loadRegistryTrust(host: string, options: TrustOptions): Promise<RegistryTrust> {
  const env = options.env ?? process.env;
  const files: string[] = [];
  const ca: string[] = [...rootCertificates];
  const bundles = options.systemBundles ?? (env.SSL_CERT_FILE ? [env.SSL_CERT_FILE] : SYSTEM_BUNDLES);
  for (const bundle of bundles) {
    const text = await readText(bundle);
    if (text === undefined) continue;
    ca.push(text);
    files.push(bundle);
    break;
  }
  const dirs = options.certsDirs ?? engineCertsDirs(options.engine, options.home ?? env.HOME ?? "/", options.uid ?? -1);
  const found: CertsFound = { ca, files, client: undefined };
  for (const root of dirs) await readCertsDir(path.join(root, host), found);
  const client = found.client;
  return { ca, ...(client ?? {}), files };
}

interface CertsFound {
  ca: string[];
  files: string[];
  client: { cert: string; key: string } | undefined;
}

/** One `certs.d/<host>` directory, as the engines read it: `*.crt` CAs, the first `*.cert` + `*.key` pair. */
async function readCertsDir(dir: string, found: CertsFound): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const file = path.join(dir, name);
    if (name.endsWith(".crt")) {
      const text = await readText(file);
      if (text === undefined) continue;
      found.ca.push(text);
      found.files.push(file);
    } else if (name.endsWith(".cert") && found.client === undefined) {
      const keyFile = path.join(dir, `${name.slice(0, -".cert".length)}.key`);
      const [cert, key] = [await readText(file), await readText(keyFile)];
      if (cert === undefined || key === undefined) continue;
      found.client = { cert, key };
      found.files.push(file, keyFile);
    }
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}
