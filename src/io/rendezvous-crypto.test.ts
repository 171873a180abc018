import { describe, expect, it } from "vitest";
import { computeMac, createNonce, createPortDraw, verifyMac } from "./rendezvous-crypto.js";

const secret = Buffer.alloc(32, 7);
const input = { jobKey: "12.0", masterNonce: "a".repeat(32), workerNonce: "b".repeat(32), node: "node2" };

describe("MACs", () => {
  it("verify only with the same secret, role and inputs", () => {
    const mac = computeMac(secret, "worker", input);
    expect(verifyMac(secret, "worker", input, mac)).toBe(true);
    expect(verifyMac(Buffer.alloc(32, 8), "worker", input, mac)).toBe(false);
    expect(verifyMac(secret, "master", input, mac)).toBe(false);
    expect(verifyMac(secret, "worker", { ...input, jobKey: "12.1" }, mac)).toBe(false);
    expect(verifyMac(secret, "worker", { ...input, node: "node3" }, mac)).toBe(false);
    expect(verifyMac(secret, "worker", input, "00")).toBe(false);
  });
});

describe("createNonce", () => {
  it("gives 16 fresh random bytes in hex, as the protocol requires", () => {
    const nonce = createNonce();
    expect(nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(createNonce()).not.toBe(nonce);
  });
});

describe("createPortDraw", () => {
  it("draws the same for the same secret, job step and label; otherwise unrelated numbers", () => {
    const draw = createPortDraw(secret, "12.0");
    expect(draw("remote|0")).toBe(createPortDraw(Buffer.from(secret), "12.0")("remote|0"));
    const others = [
      draw("remote|1"),
      draw("master|0"),
      createPortDraw(secret, "12.1")("remote|0"),
      createPortDraw(Buffer.alloc(32, 8), "12.0")("remote|0"),
    ];
    expect(new Set([draw("remote|0"), ...others]).size).toBe(5);
  });
});
