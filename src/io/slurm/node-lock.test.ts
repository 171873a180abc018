import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, expect, test } from "vitest";
import { withNodeLock } from "./node-lock.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const lockIn = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "node-lock-"));
  dirs.push(dir);
  return path.join(dir, "job", "create.lock");
};

test("two holders at once run one after the other, and the lock is gone after", async () => {
  const lock = lockIn();
  const order: string[] = [];
  const hold = (name: string) =>
    withNodeLock(lock, async () => {
      order.push(`${name} in`);
      await new Promise((resolve) => setTimeout(resolve, 60));
      order.push(`${name} out`);
      return name;
    });
  expect(await Promise.all([hold("a"), hold("b")])).toEqual(["a", "b"]);
  expect(order).toEqual(["a in", "a out", "b in", "b out"]);
  await expect(withNodeLock(lock, async () => "again")).resolves.toBe("again");
});

test("a holder that died (its pid is not alive) does not hold it", async () => {
  const lock = lockIn();
  mkdirSync(lock, { recursive: true });
  writeFileSync(path.join(lock, "pid"), "424242");
  const alive = (pid: number) => pid !== 424242;
  await expect(withNodeLock(lock, async () => "taken", undefined, alive)).resolves.toBe("taken");
});

test("an action that fails frees it", async () => {
  const lock = lockIn();
  await expect(withNodeLock(lock, () => Promise.reject(new Error("no")))).rejects.toThrow("no");
  await expect(withNodeLock(lock, async () => "free")).resolves.toBe("free");
});

test("a lock with no pid is taken once it is old (its holder died between mkdir and its pid)", async () => {
  const lock = lockIn();
  mkdirSync(lock, { recursive: true });
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  await expect(withNodeLock(lock, async () => "taken")).resolves.toBe("taken");
});
