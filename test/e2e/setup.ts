// Runs around every e2e file (vitest.config.ts, setupFiles): what a file made in the test users'
// homes goes with it, so runs do not pile up there.
import { afterAll } from "vitest";
import { removeWorkspaces } from "./workspace.js";

afterAll(() => removeWorkspaces());
