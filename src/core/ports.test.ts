import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { deriveJobPorts, PORT_RANGE_END, PORT_RANGE_START } from "./ports.js";

describe("deriveJobPorts", () => {
  test.each<[string, string, object, object]>([
    ["0", "0", {}, { sshdPort: 20000, rendezvousPort: 20001, masterPort: 20002 }],
    ["1", "0", {}, { sshdPort: 20024, rendezvousPort: 20025, masterPort: 20026 }],
    ["0", "1", {}, { sshdPort: 20003, rendezvousPort: 20004, masterPort: 20005 }],
    ["0", "0", { sshdPort: 12345 }, { sshdPort: 12345, rendezvousPort: 20001, masterPort: 20002 }],
    ["0", "0", { rendezvousPort: 30000 }, { sshdPort: 20000, rendezvousPort: 30000, masterPort: 20002 }],
    ["0", "0", { sshdPort: 20001 }, { sshdPort: 20001, rendezvousPort: 20004, masterPort: 20002 }],
  ])("job %s step %s %j → %j", (job, step, overrides, expected) => {
    expect(deriveJobPorts(job, step, overrides)).toEqual(expected);
  });

  test("the same inputs give the same ports on every node", () => {
    expect(deriveJobPorts("local-abc", "0")).toEqual(deriveJobPorts("local-abc", "0"));
  });

  test("jobs submitted close together never collide", () => {
    const seen = new Set<number>();
    for (let job = 1000; job < 1300; job++) {
      for (let step = 0; step < 8; step++) {
        const { sshdPort, rendezvousPort, masterPort } = deriveJobPorts(String(job), String(step));
        for (const port of [sshdPort, rendezvousPort, masterPort]) {
          expect(seen.has(port)).toBe(false);
          seen.add(port);
        }
      }
    }
  });

  test("ports stay in range and distinct", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat().map(String), fc.string()),
        fc.oneof(fc.nat().map(String), fc.string()),
        (job, step) => {
          const ports = Object.values(deriveJobPorts(job, step));
          expect(new Set(ports).size).toBe(3);
          for (const port of ports) expect(port >= PORT_RANGE_START && port < PORT_RANGE_END).toBe(true);
        },
      ),
    );
  });
});
