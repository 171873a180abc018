// The job script's path, checked where it runs (a mounted path): a missing or non-executable
// script is the user's error, said before any container starts.
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import path from "node:path";
import { isErrno, usageError } from "../../core/common/index.js";

export async function resolveScript(script: string, cwd: string): Promise<string> {
  const full = path.resolve(cwd, script);
  try {
    await access(full, constants.X_OK);
  } catch (error) {
    const missing = isErrno(error, "ENOENT");
    throw usageError(
      `\`--script\` ${script}: ${missing ? "no such file" : "not executable"} (${full})`,
      missing ? "give the path of your job script, relative to the current directory" : `run \`chmod +x ${script}\``,
    );
  }
  return full;
}
