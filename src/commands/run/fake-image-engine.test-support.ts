// A node's image engine for runJob's and runPull's tests: it has the image or not, pulls it from
// a pretend registry (or fails to), and saves and loads it as a real `docker save` tar (names
// and all, as docker applies them), so a relay between fake nodes moves real bytes over real
// sockets.
import { PassThrough, Readable } from "node:stream";
import type { LocalImage } from "../../core/image/index.js";
import type { ImageEngine } from "../../io/image/index.js";

/** The one image of every fake node, and the digest it was pushed as. */
export const IMAGE_ID = `sha256:${"1".repeat(64)}`;
export const IMAGE_DIGEST = `sha256:${"9".repeat(64)}`;

/**
 * A `docker save` archive of image `id` in Docker 20.10's order (the layer, the config, then
 * manifest.json naming the image `repoTags`): what `docker load` reads the ID and names from.
 */
export function saveArchive(id: string, repoTags: string[] | null): Buffer {
  const hex = id.replace(/^sha256:/, "");
  const manifest = JSON.stringify([{ Config: `${hex}.json`, RepoTags: repoTags, Layers: ["l1/layer.tar"] }]);
  return Buffer.concat([
    tarEntry("l1/layer.tar", Buffer.alloc(2 * 1024 * 1024 + 3, 5)),
    tarEntry(`${hex}.json`, Buffer.from('{"architecture":"amd64"}')),
    tarEntry("manifest.json", Buffer.from(manifest)),
    Buffer.alloc(1024),
  ]);
}

/** The archive a node saves of its image, by ID (so it names nothing), as docker does. */
export const ARCHIVE_BYTES = saveArchive(IMAGE_ID, null).length;

function tarEntry(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write("0000644\0", 100);
  header.write(`${data.length.toString(8).padStart(11, "0")}\0`, 124);
  header.write("00000000000\0", 136);
  header.write("0", 156);
  header.write("ustar\0" + "00", 257, "latin1");
  header.fill(0x20, 148, 156);
  header.write(
    `${header
      .reduce((sum, b) => sum + b, 0)
      .toString(8)
      .padStart(6, "0")}\0 `,
    148,
  );
  return Buffer.concat([header, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** What `docker load` takes from an archive: the image's ID (its config's name) and the names it gives it. */
function readArchive(archive: Buffer): { id: string; repoTags: string[] } {
  for (let at = 0; at + 512 <= archive.length; ) {
    const name = archive.toString("latin1", at, at + 100).replace(/\0.*$/s, "");
    if (name === "") break;
    const size = Number.parseInt(archive.toString("latin1", at + 124, at + 136), 8);
    if (at + 512 + size > archive.length) break;
    if (name === "manifest.json") {
      const [entry] = JSON.parse(archive.toString("utf8", at + 512, at + 512 + size)) as {
        Config: string;
        RepoTags: string[] | null;
      }[];
      return { id: `sha256:${entry?.Config.replace(/\.json$/, "")}`, repoTags: entry?.RepoTags ?? [] };
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error("unexpected EOF");
}

export interface FakeImageBehaviour {
  /** The node has the image at start (default: yes, under any name). */
  readonly has?: boolean;
  /** A pull from the registry fails with these words. */
  readonly pullFails?: string;
  /** Its `save` breaks after this many bytes (a parent that fails mid-relay). */
  readonly saveFailsAfter?: number;
  /** How long its pull takes. */
  readonly pullMs?: number;
  /** Its `save` gives another image's archive, naming it these (a parent gone bad). */
  readonly savesInstead?: { readonly id: string; readonly repoTags: string[] };
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
  /** Every name given to an image here, `repo:tag id`: by a load (the archive's own) or a tag. */
  readonly named: string[];
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
  const held: Held = {
    image:
      built !== undefined ? (built.id === IMAGE_ID ? built : undefined) : (behaviour.has ?? true) ? pulled : undefined,
    // What the tag names: the node's own build until a load of the job's image is named so.
    named: built,
    loaded,
  };
  const record = { loads: [] as number[], saves: [] as number[], named: [] as string[] };
  const engine: FakeImageEngine = {
    bin: "docker",
    pulls: [],
    ...record,
    tags: [],
    find: async (name) => {
      if (built === undefined) return held.image;
      if (name === IMAGE_ID) return held.image;
      return name === built.id ? built : held.named;
    },
    resolve: async () => ({ kind: "resolved", digest: IMAGE_DIGEST, attempts: 1 }),
    pull: async (ref, _auth, options) => {
      engine.pulls.push(ref.path);
      if (behaviour.pullFails !== undefined)
        return { kind: "failed", failure: { kind: "other", detail: behaviour.pullFails } };
      options.onEvent?.({ kind: "layer", id: "l1", phase: "downloading", current: 0, total: LAYER_BYTES });
      await new Promise((resolve) => setTimeout(resolve, behaviour.pullMs ?? 0));
      options.onEvent?.({ kind: "layer", id: "l1", phase: "done" });
      held.image = pulled;
      return { kind: "pulled", digest: IMAGE_DIGEST, imageId: undefined, upToDate: false };
    },
    load: async () => {
      throw new Error("no archive in these tests");
    },
    tag: async (id, repo, tag) => {
      engine.named.push(`${repo}:${tag} ${id}`);
      engine.tags.push(`${id} ${repo}:${tag}`);
      if (held.image?.id === id) held.named = held.image;
    },
    transfer: fakeTransfer(record, behaviour, held),
  };
  return engine;
}

interface Held {
  image: LocalImage | undefined;
  named: LocalImage | undefined;
  readonly loaded: LocalImage;
}

/** `docker save` and `docker load` of the fake: what the relay tests stream. */
function fakeTransfer(
  engine: Pick<FakeImageEngine, "loads" | "saves" | "named">,
  behaviour: FakeImageBehaviour,
  held: Held,
): FakeImageEngine["transfer"] {
  return {
    describe: (op, id) => `fake ${op} ${id ?? ""}`,
    save: (id) => {
      engine.saves.push(ARCHIVE_BYTES);
      if (held.image === undefined || id !== IMAGE_ID) return failing(`reference does not exist: ${id}`);
      const instead = behaviour.savesInstead;
      return archive(
        instead === undefined ? saveArchive(IMAGE_ID, null) : saveArchive(instead.id, instead.repoTags),
        behaviour.saveFailsAfter,
      );
    },
    loadFrom: async (input) => {
      const chunks: Buffer[] = [];
      for await (const chunk of input) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      engine.loads.push(bytes.length);
      // As docker: the archive's names are given as it loads, before anyone checks the image.
      const got = readArchive(bytes);
      for (const name of got.repoTags) engine.named.push(`${name} ${got.id}`);
      if (got.id === IMAGE_ID) held.image = held.loaded;
      return got.id;
    },
  };
}

function archive(bytes: Buffer, failAfter: number | undefined): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && sent >= failAfter) {
        this.destroy(new Error("dockerd ended the archive early"));
        return;
      }
      const size = Math.min(256 * 1024, bytes.length - sent);
      if (size <= 0) {
        this.push(null);
        return;
      }
      const piece = bytes.subarray(sent, sent + size);
      sent += size;
      setTimeout(() => this.push(piece), 1);
    },
  });
}

function failing(message: string): Readable {
  const stream = new PassThrough();
  setImmediate(() => stream.destroy(new Error(message)));
  return stream;
}
