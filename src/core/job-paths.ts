/**
 * Paths of a job's private files. node:path is the one Node module core uses: it is string
 * logic only, and the argv a dry run prints must be built exactly as the run builds it.
 */
import { join } from "node:path";

/** A path segment we build paths from: no separators, no "." or "..". */
export function checkSegment(what: string, value: string): string {
  if (value === "" || value === "." || value === ".." || /[/\0]/.test(value)) {
    throw new Error(`internal error: unsafe ${what} ${JSON.stringify(value)} for a job path (please report)`);
  }
  return value;
}

/**
 * <jobs dir>/<jobId>.<stepId>/<node>: per node, because the home is shared and every node
 * writes its own files.
 */
export function jobDirPath(jobsDir: string, jobKey: string, node: string): string {
  return join(jobsDir, checkSegment("job key", jobKey), checkSegment("node", node));
}
