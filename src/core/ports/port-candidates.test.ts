import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CANDIDATE_COUNTS, derivePortCandidates, type PortDraw } from "./port-candidates.js";
import { firstPorts, PORT_RANGE_END, PORT_RANGE_START } from "./ports.js";

/** As io/channel/key.ts's createPortDraw, with `key` for the secret and job step. */
const drawWith =
  (key: string): PortDraw =>
  (label) =>
    createHmac("sha256", key).update(label).digest().readUInt32BE(0);

const none = { remote: undefined, rendezvous: undefined };
const candidatesOf = (key: string, given = none) => derivePortCandidates({ given, draw: drawWith(key) });

/** The old first candidates, from the job id alone (job N, step S → slot 8N+S, 3 ports each). */
function fromJobIdAlone(jobId: number, stepId: number): number[] {
  const base = PORT_RANGE_START + ((jobId * 8 + stepId) % 4253) * 3;
  return [base, base + 1, base + 2];
}

describe("derivePortCandidates", () => {
  test("as many candidates as each kind has, every one drawn: none from the job id alone", () => {
    const candidates = candidatesOf("secret|1234.0");
    for (const kind of ["remote", "rendezvous", "master", "relay"] as const)
      expect(candidates[kind]).toHaveLength(CANDIDATE_COUNTS[kind]);
    const all = Object.values(candidates).flat();
    for (const port of fromJobIdAlone(1234, 0)) expect(all).not.toContain(port);
    // The draw decides every place, the first included.
    const labels: string[] = [];
    derivePortCandidates({ given: none, draw: (label) => labels.push(label) });
    expect(labels.slice(0, 3)).toEqual(["remote|0", "remote|1", "remote|2"]);
    expect(labels).toContain("rendezvous|0");
    expect(labels).toContain("master|0");
  });

  test("the same draw gives the same lists on every node; another secret or job step, other lists from the first place on", () => {
    expect(candidatesOf("a|77.3")).toEqual(candidatesOf("a|77.3"));
    const mine = candidatesOf("a|77.3");
    for (const other of [candidatesOf("b|77.3"), candidatesOf("a|77.4")]) {
      expect(other.remote[0]).not.toBe(mine.remote[0]);
      expect(other.rendezvous[0]).not.toBe(mine.rendezvous[0]);
      expect(other.master[0]).not.toBe(mine.master[0]);
    }
  });

  test("a port the user gave is the only candidate of its kind, and no drawn one repeats it", () => {
    const candidates = derivePortCandidates({
      given: { remote: 20_005, rendezvous: 3333 },
      // Each kind's first draw lands on the given 20005, the next ones on fresh ports.
      draw: (label) => {
        const [kind = "", place = ""] = label.split("|");
        return place === "0" ? 5 : kind.length * 1000 + Number(place);
      },
    });
    expect(candidates.remote).toEqual([20_005]);
    expect(candidates.rendezvous).toEqual([3333]);
    expect(candidates.master).toHaveLength(CANDIDATE_COUNTS.master);
    expect(candidates.relay).toHaveLength(CANDIDATE_COUNTS.relay);
    expect([...candidates.master, ...candidates.relay]).not.toContain(20_005);
  });

  test("no port twice across kinds, all in range, for any draw", () => {
    fc.assert(
      fc.property(fc.string(), (key) => {
        const all = Object.values(candidatesOf(key)).flat();
        expect(new Set(all).size).toBe(all.length);
        expect(all).toHaveLength(
          CANDIDATE_COUNTS.remote + CANDIDATE_COUNTS.rendezvous + CANDIDATE_COUNTS.master + CANDIDATE_COUNTS.relay,
        );
        for (const port of all) expect(port >= PORT_RANGE_START && port < PORT_RANGE_END).toBe(true);
      }),
    );
  });
});

test("firstPorts: the first candidate of each kind, every remote candidate", () => {
  const candidates = candidatesOf("k");
  expect(firstPorts(candidates)).toEqual({
    remote: candidates.remote,
    rendezvousPort: candidates.rendezvous[0],
    masterPort: candidates.master[0],
  });
});
