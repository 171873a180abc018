/**
 * An image archive stream without the names it would give its images (core/relay/archive-names.ts),
 * for a load whose image is checked only afterwards: an archive the engine would read otherwise
 * than the stripper ends the stream with an error, which cancels the load.
 */
import { type Readable, Transform } from "node:stream";
import { createArchiveNameStripper } from "../../core/relay/index.js";

export function withoutImageNames(archive: Readable): Readable {
  const stripper = createArchiveNameStripper();
  const unnamed = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        for (const piece of stripper.push(chunk)) this.push(piece);
        done();
      } catch (error) {
        done(refused(error));
      }
    },
    flush(done) {
      try {
        stripper.end();
        done();
      } catch (error) {
        done(refused(error));
      }
    },
  });
  archive.on("error", (error) => unnamed.destroy(error));
  return archive.pipe(unnamed);
}

function refused(error: unknown): Error {
  return new Error(`refused the archive: ${error instanceof Error ? error.message : String(error)}`);
}
