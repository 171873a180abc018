import { expect, test } from "vitest";
import { isFirstTaskOfStep, SaidElsewhere, sayOncePerStep, UserError, usageError } from "./errors.js";

test.each<[NodeJS.ProcessEnv, boolean]>([
  [{}, true],
  [{ SLURM_PROCID: "0" }, true],
  [{ SLURM_PROCID: "" }, true],
  [{ SLURM_PROCID: "3" }, false],
])("isFirstTaskOfStep(%j) is %s", (env, first) => expect(isFirstTaskOfStep(env)).toBe(first));

test("a user error is said by the first task; the others end quietly with its code", () => {
  const error = usageError("`--container` is required", "add it");
  expect(sayOncePerStep(error, { SLURM_PROCID: "0" })).toBe(error);
  const quiet = sayOncePerStep(error, { SLURM_PROCID: "2" });
  expect(quiet).toBeInstanceOf(SaidElsewhere);
  expect(quiet).toMatchObject({ exitCode: 2 });
  expect(sayOncePerStep(new UserError("x", "y"), { SLURM_PROCID: "1" })).toMatchObject({ exitCode: 1 });
  const bug = new Error("internal");
  expect(sayOncePerStep(bug, { SLURM_PROCID: "1" })).toBe(bug);
});
