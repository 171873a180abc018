import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { jobDirPath } from "../../core/slurm/index.js";
import { removeJobDir, rewriteJobFiles, writeJobFiles } from "./job-files.js";

let jobs: string;
beforeEach(async () => {
  jobs = await mkdtemp(join(tmpdir(), "srun-docker-jobs-"));
});
afterEach(async () => {
  await rm(jobs, { recursive: true, force: true });
});

describe("job files", () => {
  it("writes each file with exactly its mode, in a private per-node dir", async () => {
    const dir = jobDirPath(jobs, "123.0", "node1");
    expect(dir).toBe(join(jobs, "123.0", "node1"));
    const old = process.umask(0o077);
    try {
      const written = await writeJobFiles(dir, {
        passwd: { content: "alice:x:1000:1000::/home/alice:/bin/bash\n", mode: 0o644 },
        ssh_config: { content: Buffer.from("Host *\n"), mode: 0o600 },
      });
      expect(written).toEqual({ passwd: join(dir, "passwd"), ssh_config: join(dir, "ssh_config") });
    } finally {
      process.umask(old);
    }
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, "passwd"))).mode & 0o777).toBe(0o644);
    expect((await stat(join(dir, "ssh_config"))).mode & 0o777).toBe(0o600);
    await writeJobFiles(dir, { passwd: { content: "new\n", mode: 0o644 } });
    expect(await readFile(join(dir, "passwd"), "utf8")).toBe("new\n");
    expect((await readdir(dir)).sort()).toEqual(["passwd", "ssh_config"]);
  });

  it("refuses names that would leave the job dir", async () => {
    expect(() => jobDirPath(jobs, "..", "node1")).toThrow(/unsafe job key/);
    expect(() => jobDirPath(jobs, "1.0", "a/b")).toThrow(/unsafe node/);
    await expect(writeJobFiles(join(jobs, "x"), { "../evil": { content: "", mode: 0o600 } })).rejects.toThrow(
      /unsafe file name/,
    );
  });

  it("removes a node's dir, and the job's dir after its last node", async () => {
    const a = jobDirPath(jobs, "9.0", "a");
    const b = jobDirPath(jobs, "9.0", "b");
    await writeJobFiles(a, { f: { content: "1", mode: 0o600 } });
    await mkdir(b);
    await removeJobDir(a);
    expect(await readdir(join(jobs, "9.0"))).toEqual(["b"]);
    await removeJobDir(b);
    await removeJobDir(b);
    expect(await readdir(jobs)).toEqual([]);
  });
});

describe("rewriteJobFiles", () => {
  it("writes only what changed: a file bound into the container keeps its inode, the others are replaced", async () => {
    const dir = jobDirPath(jobs, "7.0", "node1");
    const before = {
      ssh_config: { content: "Port 1\n", mode: 0o644, boundAsFile: true as const },
      "agent.json": { content: "{}\n", mode: 0o600 },
      hostfile: { content: "n1\n", mode: 0o644 },
    };
    await writeJobFiles(dir, before);
    const inode = async (name: string) => (await stat(join(dir, name))).ino;
    const [sshBefore, agentBefore] = [await inode("ssh_config"), await inode("agent.json")];
    const after = {
      ...before,
      ssh_config: { ...before.ssh_config, content: "Port 2\n" },
      "agent.json": { ...before["agent.json"], content: '{"a":1}\n' },
    };
    expect(await rewriteJobFiles(dir, before, after)).toEqual(["ssh_config", "agent.json"]);
    expect(await readFile(join(dir, "ssh_config"), "utf8")).toBe("Port 2\n");
    expect(await readFile(join(dir, "agent.json"), "utf8")).toBe('{"a":1}\n');
    expect(await inode("ssh_config")).toBe(sshBefore);
    expect(await inode("agent.json")).not.toBe(agentBefore);
    expect((await stat(join(dir, "agent.json"))).mode & 0o777).toBe(0o600);
    expect(await rewriteJobFiles(dir, after, after)).toEqual([]);
  });
});
