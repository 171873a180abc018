import { describe, expect, it } from "vitest";
import { UserError } from "../../core/common/index.js";
import { runCommand, spawnInherit } from "./exec.js";

const node = process.execPath;

describe("runCommand", () => {
  it("captures stdout, stderr and a non-zero exit without throwing", async () => {
    const r = await runCommand(node, [
      "-e",
      "process.stdout.write('out'); process.stderr.write('err'); process.exit(3)",
    ]);
    expect(r).toEqual({ exitCode: 3, signal: null, stdout: "out", stderr: "err", timedOut: false, aborted: false });
  });

  it("feeds input to stdin and passes env and cwd", async () => {
    const r = await runCommand(
      node,
      ["-e", "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(s+process.env.X+process.cwd()))"],
      { input: "in:", env: { ...process.env, X: "x:" }, cwd: "/" },
    );
    expect(r.stdout).toBe("in:x:/\n");
  });

  it("returns raw bytes with encoding buffer", async () => {
    const r = await runCommand(node, ["-e", "process.stdout.write(Buffer.from([0, 255, 1]))"], { encoding: "buffer" });
    expect(r.stdoutBuffer).toEqual(Buffer.from([0, 255, 1]));
  });

  it("kills a child past its timeout, with SIGKILL if it ignores SIGTERM", async () => {
    // An ignored signal stays ignored across exec, so sleep itself ignores SIGTERM.
    const r = await runCommand("sh", ["-c", "trap '' TERM; exec sleep 5"], { timeoutMs: 100, killGraceMs: 100 });
    expect(r).toMatchObject({ exitCode: null, signal: "SIGKILL", timedOut: true });
  });

  it("kills the child when the signal aborts", async () => {
    const controller = new AbortController();
    const running = runCommand(node, ["-e", "setInterval(()=>{},1000)"], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await running).toMatchObject({ signal: "SIGTERM", aborted: true });
  });

  it("turns a missing binary into a UserError with a hint", async () => {
    const error = await runCommand("srun-docker-no-such-binary", []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({
      code: "command-not-found",
      message: "cannot run `srun-docker-no-such-binary`: not found",
      hint: expect.stringContaining("PATH"),
    });
  });
});

describe("spawnInherit", () => {
  it("resolves with the exit code or the signal", async () => {
    expect(await spawnInherit(node, ["-e", "process.exit(7)"]).exit).toEqual({ code: 7, signal: null });
    const { child, exit } = spawnInherit(node, ["-e", "setInterval(()=>{},1000)"]);
    child.kill("SIGTERM");
    expect(await exit).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("rejects with a UserError when the binary is missing", async () => {
    await expect(spawnInherit("srun-docker-no-such-binary", []).exit).rejects.toMatchObject({
      code: "command-not-found",
    });
  });
});
