import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createHandshakeSlots } from "./handshake-slots.js";

describe("createHandshakeSlots", () => {
  test("admits up to the limit without displacing anything", () => {
    const slots = createHandshakeSlots<string>(3);
    expect([slots.admit("a", "x"), slots.admit("b", "x"), slots.admit("c", "y")]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(slots.size).toBe(3);
  });

  test("when full, the oldest connection of the source holding the most slots makes room", () => {
    const slots = createHandshakeSlots<string>(4);
    slots.admit("peer", "10.0.0.2");
    for (const junk of ["junk1", "junk2", "junk3"]) slots.admit(junk, "10.0.0.9");
    // The peer is the oldest, but the flooding source holds more.
    expect(slots.admit("worker", "10.0.0.3")).toBe("junk1");
    expect(slots.admit("junk4", "10.0.0.9")).toBe("junk2");
    expect(slots.size).toBe(4);
  });

  test("between sources holding as many, the oldest connection goes", () => {
    const slots = createHandshakeSlots<string>(2);
    slots.admit("a", "x");
    slots.admit("b", "y");
    expect(slots.admit("c", "z")).toBe("a");
    expect(slots.admit("d", "x")).toBe("b");
  });

  test("a released (authenticated or closed) connection frees its slot and is never displaced", () => {
    const slots = createHandshakeSlots<string>(2);
    slots.admit("worker", "x");
    slots.admit("junk", "x");
    slots.release("worker");
    expect(slots.size).toBe(1);
    expect(slots.admit("junk2", "x")).toBeUndefined();
    expect(slots.admit("junk3", "x")).toBe("junk");
    slots.release("never-admitted");
    expect(slots.size).toBe(2);
  });

  test("never holds more than the limit, and the newcomer is always in", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }))),
        (limit, steps) => {
          const slots = createHandshakeSlots<number>(limit);
          const held = new Set<number>();
          for (const [admit, item, source] of steps) {
            if (admit) {
              const victim = slots.admit(item, String(source));
              held.add(item);
              if (victim !== undefined) {
                expect(victim).not.toBe(item);
                held.delete(victim);
              }
            } else {
              slots.release(item);
              held.delete(item);
            }
            expect(slots.size).toBe(held.size);
            expect(slots.size).toBeLessThanOrEqual(limit);
          }
        },
      ),
    );
  });
});
