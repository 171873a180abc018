import fc from "fast-check";
import { expect, test } from "vitest";
import { encodeFrame, looksMultiplexed, StreamDemuxer, type StreamName } from "./docker-stream.js";

const frame = fc.record({
  stream: fc.constantFrom<StreamName>("stdout", "stderr", "system"),
  payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
});

test("any frames, cut into any chunks, come out as the same frames in the same order", () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
      const wire = Buffer.concat(frames.map((f) => encodeFrame(f.stream, f.payload)));
      const at = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
      const demuxer = new StreamDemuxer();
      const out = [0, ...at]
        .map((start, i) => wire.subarray(start, at[i] ?? wire.length))
        .flatMap((chunk) => demuxer.push(chunk));
      expect(out.map((f) => ({ stream: f.stream, payload: Buffer.from(f.payload) }))).toEqual(frames);
      expect(demuxer.buffered).toBe(0);
    }),
  );
});

test("the wire format: stream byte, three zeros, big-endian length", () => {
  expect(encodeFrame("stderr", "hi").toString("hex")).toBe(`0200000000000002${Buffer.from("hi").toString("hex")}`);
  expect(encodeFrame("stdout", Buffer.alloc(0x0102)).subarray(0, 8).toString("hex")).toBe("0100000000000102");
});

test("a stream cut inside a frame keeps the rest as buffered", () => {
  const demuxer = new StreamDemuxer();
  expect(demuxer.push(encodeFrame("stdout", "abcdef").subarray(0, 11))).toEqual([]);
  expect(demuxer.buffered).toBe(11);
});

test("bytes that are not frames (a TTY's raw text) are refused, not misread", () => {
  expect(() => new StreamDemuxer().push(Buffer.from("hello, world\n"))).toThrow(/not a multiplexed stream/);
  expect(looksMultiplexed(Buffer.from("hello, world\n"))).toBe(false);
  expect(looksMultiplexed(encodeFrame("stdout", "x"))).toBe(true);
  expect(looksMultiplexed(encodeFrame("stdout", "x").subarray(0, 7))).toBe(false);
  expect(looksMultiplexed(Buffer.from([4, 0, 0, 0, 0, 0, 0, 1]))).toBe(false);
});
