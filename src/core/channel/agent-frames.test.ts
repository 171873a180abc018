import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  createFrameDecoder,
  type DecodeStep,
  encodeFrame,
  encodeFrameHeader,
  type Frame,
  FrameType,
  MAX_DATA_BYTES,
  splitPayload,
} from "./agent-frames.js";

const TYPES = Object.values(FrameType);
const anyType = () => 1024 * 1024;

function drain(decoder: ReturnType<typeof createFrameDecoder>): DecodeStep[] {
  const steps: DecodeStep[] = [];
  for (let step = decoder.next(); step !== undefined; step = decoder.next()) {
    steps.push(step);
    if (step.kind === "error") break;
  }
  return steps;
}

const frameOf = (type: FrameType, text: string): Frame => ({ type, payload: Buffer.from(text) });

describe("frame decoder", () => {
  test("property: any frames, cut anywhere, decode to the same frames in order", () => {
    const frame = fc.record({
      type: fc.constantFrom(...TYPES),
      payload: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
        const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
        const decoder = createFrameDecoder(anyType);
        const got: Frame[] = [];
        let start = 0;
        for (const end of [...points, bytes.length]) {
          decoder.push(bytes.subarray(start, end));
          start = end;
          for (const step of drain(decoder)) {
            if (step?.kind !== "frame") throw new Error(`unexpected ${JSON.stringify(step)}`);
            got.push({ type: step.frame.type, payload: Buffer.from(step.frame.payload) });
          }
        }
        expect(got).toEqual(frames);
      }),
    );
  });

  test("a frame waits for its last byte; an empty payload is a frame", () => {
    const decoder = createFrameDecoder(anyType);
    const bytes = encodeFrame(FrameType.stdout, Buffer.from("hello"));
    decoder.push(bytes.subarray(0, 3));
    expect(decoder.next()).toBeUndefined();
    decoder.push(bytes.subarray(3, 9));
    expect(decoder.next()).toBeUndefined();
    decoder.push(Buffer.concat([bytes.subarray(9), encodeFrame(FrameType.stdinEof)]));
    expect(drain(decoder)).toEqual([
      { kind: "frame", frame: frameOf(FrameType.stdout, "hello") },
      { kind: "frame", frame: frameOf(FrameType.stdinEof, "") },
    ]);
  });

  test.each<[string, Buffer, string]>([
    ["an unknown type", encodeFrameHeader(0xff as FrameType, 0), "unexpected frame type 0xff"],
    ["a type not allowed now", encodeFrameHeader(FrameType.stdin, 1), "unexpected frame type 0x10"],
    ["a length past the limit, before its payload came", encodeFrameHeader(FrameType.hello, 4097), "too long (4097"],
    ["a length of 4 GiB", Buffer.from([FrameType.hello, 0xff, 0xff, 0xff, 0xff]), "too long (4294967295"],
  ])("%s is an error at once, and for good", (_name, bytes, reason) => {
    const decoder = createFrameDecoder((type) => (type === FrameType.hello ? 4096 : undefined));
    decoder.push(bytes);
    const step = decoder.next();
    expect(step).toEqual({ kind: "error", reason: expect.stringContaining(reason) });
    decoder.push(encodeFrame(FrameType.hello, Buffer.from("{}")));
    expect(decoder.next()).toEqual(step);
  });

  test("the limits are asked per frame, so they can change between two frames of one chunk", () => {
    let open = false;
    const decoder = createFrameDecoder((type) => (type === FrameType.hello || open ? 100 : undefined));
    decoder.push(Buffer.concat([encodeFrame(FrameType.hello, Buffer.from("x")), encodeFrame(FrameType.exec)]));
    expect(decoder.next()).toEqual({ kind: "frame", frame: frameOf(FrameType.hello, "x") });
    open = true;
    expect(decoder.next()).toEqual({ kind: "frame", frame: frameOf(FrameType.exec, "") });
  });
});

describe("splitPayload", () => {
  test.each([
    [0, []],
    [1, [1]],
    [MAX_DATA_BYTES, [MAX_DATA_BYTES]],
    [MAX_DATA_BYTES * 2 + 5, [MAX_DATA_BYTES, MAX_DATA_BYTES, 5]],
  ])("%i bytes → pieces of %j", (length, pieces) => {
    expect(splitPayload(Buffer.alloc(length)).map((piece) => piece.length)).toEqual(pieces);
  });
});
