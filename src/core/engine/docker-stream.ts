/**
 * Docker's multiplexed stream, pure: what the Engine API sends for an exec or the logs of a
 * container without a TTY. Every frame is an 8-byte header, then its payload:
 *
 *   ┌────────┬─────────┬────────────────────┬───────────────────────┐
 *   │ stream │ 0  0  0 │ length (u32, BE)   │ payload (length bytes) │
 *   └────────┴─────────┴────────────────────┴───────────────────────┘
 *
 * stream: 0 stdin (never sent), 1 stdout, 2 stderr, 3 the daemon's own error (API 1.42+).
 * A frame may arrive split over any number of chunks, or many in one chunk.
 */

export const STREAM_HEADER_BYTES = 8;

export type StreamName = "stdin" | "stdout" | "stderr" | "system";

const STREAMS: readonly StreamName[] = ["stdin", "stdout", "stderr", "system"];

export interface StreamFrame {
  readonly stream: StreamName;
  readonly payload: Buffer;
}

/** Whether `head` (at least 8 bytes) starts as a frame header does; a TTY's raw text does not. */
export function looksMultiplexed(head: Buffer): boolean {
  const first = head[0];
  return (
    head.length >= STREAM_HEADER_BYTES &&
    first !== undefined &&
    first < STREAMS.length &&
    head[1] === 0 &&
    head[2] === 0 &&
    head[3] === 0
  );
}

/** Splits the bytes of one multiplexed stream, in the order they come, into frames. */
export class StreamDemuxer {
  private pending: Buffer = Buffer.alloc(0);

  /** The frames `chunk` completes; throws when the bytes are not a multiplexed stream. */
  push(chunk: Buffer): StreamFrame[] {
    let data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: StreamFrame[] = [];
    while (data.length >= STREAM_HEADER_BYTES) {
      if (!looksMultiplexed(data)) {
        throw new Error(`not a multiplexed stream (header ${data.subarray(0, STREAM_HEADER_BYTES).toString("hex")})`);
      }
      const length = data.readUInt32BE(4);
      const end = STREAM_HEADER_BYTES + length;
      if (data.length < end) break;
      const stream = STREAMS[data[0] ?? 0] ?? "stdout";
      frames.push({ stream, payload: data.subarray(STREAM_HEADER_BYTES, end) });
      data = data.subarray(end);
    }
    // Copied, so a small unfinished frame does not keep a large chunk alive.
    this.pending = Buffer.from(data);
    return frames;
  }

  /** Bytes of a frame not yet complete: a stream that ends with some was cut short. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** One frame as the daemon writes it (tests, and fake daemons). */
export function encodeFrame(stream: StreamName, payload: Buffer | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(STREAM_HEADER_BYTES);
  header[0] = STREAMS.indexOf(stream);
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}
