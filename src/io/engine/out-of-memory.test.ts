import { expect, test } from "vitest";
import type { ApiResponse, DockerApi } from "./docker-api.js";
import { dockerSawOutOfMemory, stateSaysOom } from "./out-of-memory.js";

function api(answers: Record<string, ApiResponse>): Pick<DockerApi, "socketPath" | "call"> & { paths: string[] } {
  const paths: string[] = [];
  return {
    socketPath: "/x.sock",
    paths,
    call: async (_method, path) => {
      paths.push(path);
      const key = Object.keys(answers).find((prefix) => path.startsWith(prefix));
      return key === undefined ? { status: 404, body: "" } : (answers[key] as ApiResponse);
    },
  };
}

const OOM_EVENT = JSON.stringify({ status: "oom", id: "abc", Type: "container", Action: "oom" });

test("an oom event of the container since it started: the kernel killed something in it", async () => {
  const fake = api({ "/events?": { status: 200, body: `${OOM_EVENT}\n` } });
  expect(await dockerSawOutOfMemory(fake, "c-node1", 1_700_000_000_000)).toBe(true);
  const [path] = fake.paths;
  expect(path).toMatch(/^\/events\?since=1699999999&until=\d+&filters=/);
  expect(decodeURIComponent(path?.split("filters=")[1] ?? "")).toBe('{"container":["c-node1"],"event":["oom"]}');
});

test("no event, but the container's state says OOMKilled (its main process was the one killed)", async () => {
  const fake = api({
    "/events?": { status: 200, body: "" },
    "/containers/c-node1/json": { status: 200, body: JSON.stringify({ State: { OOMKilled: true } }) },
  });
  expect(await dockerSawOutOfMemory(fake, "c-node1", 0)).toBe(true);
});

test("neither: no", async () => {
  const fake = api({
    "/events?": { status: 200, body: `${JSON.stringify({ Action: "die" })}\n` },
    "/containers/c-node1/json": { status: 200, body: JSON.stringify({ State: { OOMKilled: false } }) },
  });
  expect(await dockerSawOutOfMemory(fake, "c-node1", 0)).toBe(false);
});

test.each([
  ['[{"State":{"OOMKilled":true}}]', true],
  ['{"State":{"OOMKilled":true}}', true],
  ['[{"State":{"OOMKilled":false}}]', false],
  ["not json", false],
  ["[]", false],
])("stateSaysOom(%s) = %s", (json, oom) => {
  expect(stateSaysOom(json)).toBe(oom);
});

test("a container that has ended: the daemon is asked up to now, and answers at once", async () => {
  const fake = api({ "/events?": { status: 200, body: `${OOM_EVENT}\n` } });
  const before = Date.now() / 1000;
  expect(await dockerSawOutOfMemory(fake, "c-node1", 1_700_000_000_000, true)).toBe(true);
  const until = Number(/until=([\d.]+)&/.exec(fake.paths[0] ?? "")?.[1]);
  expect(until).toBeGreaterThanOrEqual(Math.floor(before));
  expect(until).toBeLessThanOrEqual(Date.now() / 1000);
});
