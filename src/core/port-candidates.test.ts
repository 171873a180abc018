import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CANDIDATE_COUNTS, derivePortCandidates } from "./port-candidates.js";
import { deriveJobPorts, PORT_RANGE_END, PORT_RANGE_START } from "./ports.js";

const candidatesOf = (jobId: string, stepId: string, seed = "seed", overrides = {}) =>
  derivePortCandidates({
    derived: deriveJobPorts(jobId, stepId, overrides),
    explicit: { remote: "sshdPort" in overrides, rendezvous: "rendezvousPort" in overrides },
    jobKey: `${jobId}.${stepId}`,
    seed,
  });

describe("derivePortCandidates", () => {
  test("the derived ports come first, then the fallbacks, as many as each kind has", () => {
    const candidates = candidatesOf("1234", "0");
    const derived = deriveJobPorts("1234", "0");
    expect(candidates.remote[0]).toBe(derived.sshdPort);
    expect(candidates.rendezvous[0]).toBe(derived.rendezvousPort);
    expect(candidates.master[0]).toBe(derived.masterPort);
    expect(candidates.remote).toHaveLength(CANDIDATE_COUNTS.remote);
    expect(candidates.rendezvous).toHaveLength(CANDIDATE_COUNTS.rendezvous);
    expect(candidates.master).toHaveLength(CANDIDATE_COUNTS.master);
  });

  test("every node computes the same list; another seed (another user's secret) gives other fallbacks", () => {
    expect(candidatesOf("77", "3", "a")).toEqual(candidatesOf("77", "3", "a"));
    const [mine, theirs] = [candidatesOf("77", "3", "a"), candidatesOf("77", "3", "b")];
    expect(theirs.remote[0]).toBe(mine.remote[0]);
    expect(theirs.remote.slice(1)).not.toEqual(mine.remote.slice(1));
  });

  test("the relay's candidates are all drawn from the seed, and adding them moved no other kind's", () => {
    const candidates = candidatesOf("1234", "0");
    expect(candidates.relay).toHaveLength(CANDIDATE_COUNTS.relay);
    expect(candidatesOf("1234", "0", "other").relay).not.toEqual(candidates.relay);
    // As the version before the relay derived them for job 1234.0 and seed "seed": nodes of one
    // job running two versions still agree.
    expect(candidates.remote).toEqual([
      24098, 32695, 30914, 29133, 28840, 27059, 25278, 23497, 20228, 31207, 20421, 22202, 23983, 25764, 27545, 29326,
    ]);
    expect(candidates.rendezvous).toEqual([24099, 20554, 22335, 24116, 25897, 27678, 29459, 31240]);
    expect(candidates.master).toEqual([24100, 22519, 20738, 31717, 31424, 29643, 27862, 26081]);
  });

  test("a port the user gave is the only candidate of its kind", () => {
    const candidates = candidatesOf("5", "0", "s", { sshdPort: 2222, rendezvousPort: 3333 });
    expect(candidates.remote).toEqual([2222]);
    expect(candidates.rendezvous).toEqual([3333]);
    expect(candidates.master).toHaveLength(CANDIDATE_COUNTS.master);
    expect(candidates.master).not.toContain(2222);
  });

  test("no port twice across kinds, all in range, for any job, step and seed", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat().map(String), fc.string()),
        fc.oneof(fc.nat().map(String), fc.string()),
        fc.string(),
        (job, step, seed) => {
          const all = Object.values(candidatesOf(job, step, seed)).flat();
          expect(new Set(all).size).toBe(all.length);
          expect(all).toHaveLength(
            CANDIDATE_COUNTS.remote + CANDIDATE_COUNTS.rendezvous + CANDIDATE_COUNTS.master + CANDIDATE_COUNTS.relay,
          );
          for (const port of all) expect(port >= PORT_RANGE_START && port < PORT_RANGE_END).toBe(true);
        },
      ),
    );
  });
});
