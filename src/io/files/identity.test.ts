// readIdentity with a recorded `run`: both lookups go out at once, the groups from the process.
import { userInfo } from "node:os";
import { expect, test } from "vitest";
import type { runCommand } from "../process/index.js";
import { readIdentity } from "./identity.js";

test("passwd and group lookups are asked at once, for the primary and the process's groups", async () => {
  const { uid, gid, username } = userInfo();
  const asked: string[] = [];
  let pending = 0;
  let most = 0;
  const run = (async (file: string, args: readonly string[]) => {
    asked.push(`${file} ${args.join(" ")}`);
    most = Math.max(most, ++pending);
    await new Promise((resolve) => setTimeout(resolve, 10));
    pending--;
    const stdout =
      args[0] === "passwd" ? `${username}:x:${uid}:${gid}::/home/x:/bin/sh\n` : `g:x:${gid}:\nextra:x:4242:\n`;
    return { exitCode: 0, stdout, stderr: "" };
  }) as unknown as typeof runCommand;
  const identity = await readIdentity(run, () => [gid, 4242]);
  expect(most).toBe(2);
  expect(asked.sort()).toEqual([`getent group ${gid} 4242`, `getent passwd ${uid}`]);
  expect(identity.groups).toEqual([4242]);
  expect(identity.passwdLine).toBe(`${username}:x:${uid}:${gid}::/home/x:/bin/sh`);
  expect(identity.groupLines).toEqual([`g:x:${gid}:`, "extra:x:4242:"]);
});

test("no passwd entry: one line naming the uid", async () => {
  const run = (async () => ({ exitCode: 2, stdout: "", stderr: "" })) as unknown as typeof runCommand;
  await expect(readIdentity(run, () => [])).rejects.toThrow(`no passwd entry for uid ${userInfo().uid}`);
});
