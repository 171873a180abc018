// A node's image engine for runJob's and runPull's tests: it has the image or not, pulls it from
// a pretend registry (or fails to), and saves and loads it as an archive of a known size, so a
// relay between fake nodes moves real bytes over real sockets.
import { PassThrough, Readable } from "node:stream";
import type { LocalImage } from "../../core/image-inspect.js";
import type { ImageEngine } from "../../io/image-engine.js";

/** The one image of every fake node, and the digest it was pushed as. */
export const IMAGE_ID = `sha256:${"1".repeat(64)}`;
export const IMAGE_DIGEST = `sha256:${"9".repeat(64)}`;
export const ARCHIVE_BYTES = 2 * 1024 * 1024 + 3;

export interface FakeImageBehaviour {
  /** The node has the image at start (default: yes, under any name). */
  readonly has?: boolean;
  /** A pull from the registry fails with these words. */
  readonly pullFails?: string;
  /** Its `save` breaks after this many bytes (a parent that fails mid-relay). */
  readonly saveFailsAfter?: number;
  /** How long its pull takes. */
  readonly pullMs?: number;
  /**
   * The node built the tag itself (`docker build -t app .`): the name names an image of this ID,
   * known to no registry. IMAGE_ID is the job's build (the master's); another ID, another build.
   */
  readonly build?: string;
}

/** What a fake pull downloads: one layer of this many bytes. */
export const LAYER_BYTES = 700_000;

export interface FakeImageEngine extends ImageEngine {
  readonly pulls: string[];
  readonly loads: number[];
  readonly saves: number[];
  /** `ID repo:tag` for each name given. */
  readonly tags: string[];
}

export function fakeImageEngine(behaviour: FakeImageBehaviour = {}): FakeImageEngine {
  const pulled: LocalImage = {
    id: IMAGE_ID,
    repoDigests: [`reg.test/app@${IMAGE_DIGEST}`],
    path: undefined,
    size: ARCHIVE_BYTES,
  };
  // A loaded archive knows no registry digest, as with docker.
  const loaded: LocalImage = { ...pulled, repoDigests: [] };
  const built: LocalImage | undefined = behaviour.build === undefined ? undefined : { ...loaded, id: behaviour.build };
  let image: LocalImage | undefined =
    built !== undefined ? (built.id === IMAGE_ID ? built : undefined) : (behaviour.has ?? true) ? pulled : undefined;
  // What the tag names: the node's own build until a load of the job's image is named so.
  let named = built;
  const engine: FakeImageEngine = {
    bin: "docker",
    pulls: [],
    loads: [],
    saves: [],
    tags: [],
    find: async (name) => {
      if (built === undefined) return image;
      if (name === IMAGE_ID) return image;
      return name === built.id ? built : named;
    },
    pull: async (ref, _auth, options) => {
      engine.pulls.push(ref.path);
      if (behaviour.pullFails !== undefined)
        return { kind: "failed", failure: { kind: "other", detail: behaviour.pullFails } };
      options.onEvent?.({ kind: "layer", id: "l1", phase: "downloading", current: 0, total: LAYER_BYTES });
      await new Promise((resolve) => setTimeout(resolve, behaviour.pullMs ?? 0));
      options.onEvent?.({ kind: "layer", id: "l1", phase: "done" });
      image = pulled;
      return { kind: "pulled", digest: IMAGE_DIGEST, imageId: undefined, upToDate: false };
    },
    load: async () => {
      throw new Error("no archive in these tests");
    },
    tag: async (id, repo, tag) => {
      engine.tags.push(`${id} ${repo}:${tag}`);
      if (image?.id === id) named = image;
    },
    transfer: {
      describe: (op, id) => `fake ${op} ${id ?? ""}`,
      save: (id) => {
        engine.saves.push(ARCHIVE_BYTES);
        if (image === undefined || id !== IMAGE_ID) return failing(`reference does not exist: ${id}`);
        return archive(behaviour.saveFailsAfter);
      },
      loadFrom: async (input) => {
        let bytes = 0;
        for await (const chunk of input) bytes += (chunk as Buffer).length;
        engine.loads.push(bytes);
        if (bytes !== ARCHIVE_BYTES) throw new Error(`unexpected EOF after ${bytes} bytes`);
        image = loaded;
        return IMAGE_ID;
      },
    },
  };
  return engine;
}

function archive(failAfter: number | undefined): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(new Error("dockerd ended the archive early"));
        return;
      }
      const size = Math.min(256 * 1024, ARCHIVE_BYTES - sent);
      if (size <= 0) {
        this.push(null);
        return;
      }
      sent += size;
      setTimeout(() => this.push(Buffer.alloc(size, 5)), 1);
    },
  });
}

function failing(message: string): Readable {
  const stream = new PassThrough();
  setImmediate(() => stream.destroy(new Error(message)));
  return stream;
}
