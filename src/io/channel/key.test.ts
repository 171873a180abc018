import { describe, expect, it } from "vitest";
import { channelKey, createNonce, createPortDraw } from "./key.js";

const secret = Buffer.alloc(32, 7);
const transcript = "rendezvous-client|12.0|aaaa|bbbb|node2|40000";

describe("channelKey", () => {
  it("verifies only the MAC of the same secret and transcript", () => {
    const mac = channelKey(secret).sign(transcript);
    expect(mac).toMatch(/^[0-9a-f]{64}$/);
    expect(channelKey(secret).verify(transcript, mac)).toBe(true);
    expect(channelKey(Buffer.alloc(32, 8)).verify(transcript, mac)).toBe(false);
    expect(channelKey(secret).verify(`${transcript}1`, mac)).toBe(false);
    expect(channelKey(secret).verify(transcript, "00")).toBe(false);
    expect(channelKey(secret).verify(transcript, `${mac}00`)).toBe(false);
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
