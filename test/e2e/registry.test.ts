// The test cluster's registries (test/cluster/registry.sh), as frank: node daemons and
// rootless Podman pull over TLS with the cluster's CA, the private one wants a login, the
// access log counts blob fetches, and a registry can be taken away and brought back. The
// head pushes a small image of its own (root's Podman), so every blob is new to every node.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  accessLogMark,
  blobFetches,
  clusterSize,
  IMAGE,
  inNode,
  NOSSH_IMAGE,
  nodeUserProcesses,
  type RegistryInfo,
  registry,
  registryRequests,
  run,
  runAs,
  startRegistry,
  stopRegistry,
  USERS,
  waitFor,
} from "./cluster.js";

const USER = "frank";
const REPO = "sdtc-smoke";
const TAG = randomBytes(6).toString("hex");
let reg: RegistryInfo;
/** The smoke image in each registry, and its one layer's and its config's digests. */
let openRef: string;
let privateRef: string;
let layer: string;
let config: string;

/** `cmd` as frank in a one-node step on node K. */
const onNode = (k: number, cmd: string) => runAs(USER, `srun -N1 -w node${k} bash -c ${quote(cmd)}`);
const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

async function mustRun(file: string, args: string[], input?: string): Promise<string> {
  const r = await run(file, args, 120_000, input);
  if (r.code !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The manifest of `ref` as the head sees it (skopeo: the head's /etc/containers/certs.d). */
async function manifest(
  ref: string,
  creds?: string,
): Promise<{ config: { digest: string }; layers: { digest: string }[] }> {
  const auth = creds ? ["--creds", creds] : [];
  return JSON.parse(await mustRun("skopeo", ["inspect", "--raw", ...auth, `docker://${ref}`]));
}

beforeAll(async () => {
  expect(clusterSize(), "the test cluster must be up with 4 nodes").toBeGreaterThanOrEqual(4);
  reg = registry();
  openRef = `${reg.open.host}/${REPO}:${TAG}`;
  privateRef = `${reg.private.host}/private/${REPO}:${TAG}`;
  // One layer holding a file no other image has, pushed by the head to both registries.
  const dir = mkdtempSync(path.join(tmpdir(), "sdtc-smoke-"));
  try {
    writeFileSync(path.join(dir, "token"), `${TAG}\n`);
    await mustRun("tar", ["-C", dir, "-cf", path.join(dir, "layer.tar"), "token"]);
    const local = `localhost/${REPO}:${TAG}`;
    await mustRun("podman", ["import", "-q", path.join(dir, "layer.tar"), local]);
    await mustRun("podman", ["push", "-q", local, `docker://${openRef}`]);
    const creds = `${reg.private.user}:${reg.private.password}`;
    await mustRun("podman", ["push", "-q", "--creds", creds, local, `docker://${privateRef}`]);
    await mustRun("podman", ["rmi", local]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const m = await manifest(openRef);
  expect(m.layers).toHaveLength(1);
  layer = m.layers[0]?.digest ?? "";
  config = m.config.digest;
});

afterAll(async () => {
  await startRegistry();
  for (let k = 1; k <= 4; k++) {
    const r = await inNode(k, ["sh", "-c", `docker rmi -f ${openRef} ${privateRef} 2>/dev/null; true`]);
    expect(r.code, r.stderr).toBe(0);
  }
});

describe("the test cluster's registries", () => {
  test("up pushed the test images to both; no node holds them under the registry's name", async () => {
    const creds = `${reg.private.user}:${reg.private.password}`;
    for (const [ref, local, auth] of [
      [reg.open.images.base, IMAGE, undefined],
      [reg.open.images.nossh, NOSSH_IMAGE, undefined],
      [reg.private.images.base, IMAGE, creds],
      [reg.private.images.nossh, NOSSH_IMAGE, creds],
    ] as const) {
      // The registry's image is the nodes' very image: its config is the image id.
      const id = (await inNode(1, ["docker", "image", "inspect", "-f", "{{.Id}}", local])).stdout.trim();
      expect((await manifest(ref, auth)).config.digest, ref).toBe(id);
    }
    for (let k = 1; k <= 4; k++) {
      const r = await inNode(k, ["docker", "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, `node${k}`).not.toContain(reg.name);
    }
  });

  test("a node's daemon pulls from the open registry over TLS; the access log shows each blob once, from that node", async () => {
    const mark = accessLogMark("open");
    const r = await onNode(2, `docker pull -q ${openRef}`);
    expect(r.code, r.stderr).toBe(0);
    const fetches = blobFetches("open", REPO, layer, mark);
    expect(fetches.map((f) => f.remote)).toEqual(["10.213.0.2"]);
    expect(fetches[0]?.userAgent).toMatch(/^docker\//);
    expect(blobFetches("open", REPO, config, mark)).toHaveLength(1);
    // Pulled again: the node has it, nothing more is fetched.
    expect((await onNode(2, `docker pull -q ${openRef}`)).code).toBe(0);
    expect(blobFetches("open", REPO, layer, mark)).toHaveLength(1);
  });

  test("the private registry: an anonymous pull is refused (401); after docker login the pull works", async () => {
    const mark = accessLogMark("private");
    const anonymous = await onNode(3, `docker pull -q ${privateRef}`);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/unauthorized|no basic auth credentials/);
    expect(registryRequests("private", mark).some((q) => q.status === 401 && q.remote === "10.213.0.3")).toBe(true);
    expect(blobFetches("private", `private/${REPO}`, layer, mark)).toEqual([]);
    // A login of its own, so frank's ~/.docker is never touched.
    const login =
      `export DOCKER_CONFIG=$(mktemp -d) && trap 'rm -rf "$DOCKER_CONFIG"' EXIT && ` +
      `printf %s ${quote(reg.private.password)} | docker login -u ${reg.private.user} --password-stdin ${reg.private.host} && ` +
      `docker pull -q ${privateRef}`;
    const r = await onNode(3, login);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Login Succeeded");
    // Every request to the private registry needs the login, so a 200 is an authenticated fetch.
    expect(blobFetches("private", `private/${REPO}`, layer, mark).map((f) => f.remote)).toEqual(["10.213.0.3"]);
  });

  test("rootless Podman pulls over TLS (the node's /etc/containers/certs.d) and leaves nothing running", async () => {
    const mark = accessLogMark("open");
    const r = await onNode(4, `podman pull -q ${openRef} && podman rmi ${openRef} && podman system migrate`);
    expect(r.code, r.stderr).toBe(0);
    const fetches = blobFetches("open", REPO, layer, mark);
    expect(fetches.map((f) => f.remote)).toEqual(["10.213.0.4"]);
    expect(fetches[0]?.userAgent).not.toMatch(/^docker\//);
    // No pause process (what holds rootless Podman's user namespace) or other process stays.
    await waitFor(
      "frank's processes on node4 to end",
      async () => (await nodeUserProcesses(4, USERS.frank)).length === 0,
      10_000,
    );
  });

  test("cluster.sh registry stop takes the open registry away, start brings it back", async () => {
    await stopRegistry("open");
    const refused = await onNode(1, `docker pull -q ${openRef}`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/connection refused/);
    // The private one stays up.
    expect(
      (
        await run("curl", [
          "-s",
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "--cacert",
          reg.ca,
          `https://${reg.private.host}/v2/`,
        ])
      ).stdout,
    ).toBe("401");
    await startRegistry("open");
    const mark = accessLogMark("open");
    const r = await onNode(1, `docker pull -q ${openRef}`);
    expect(r.code, r.stderr).toBe(0);
    expect(blobFetches("open", REPO, layer, mark).map((f) => f.remote)).toEqual(["10.213.0.1"]);
  });
});
