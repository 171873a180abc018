import { expect, test } from "vitest";
import { parsePsJson } from "./ps-json.js";

test.each([
  ["nothing (docker)", "", []],
  ["nothing (podman)", "[]\n", []],
  [
    "docker: one object per line, names and labels comma-joined",
    '{"Names":"a","Labels":"srun-docker=1,srun-docker.job=7"}\n{"Names":"b,b2","Labels":""}\n',
    [
      { name: "a", labels: { "srun-docker": "1", "srun-docker.job": "7" } },
      { name: "b", labels: {} },
    ],
  ],
  [
    "podman: one array, a names array and a labels map",
    '[{"Names":["c"],"Labels":{"srun-docker.uid":"1005"}},{"Names":["d"],"Labels":null}]',
    [
      { name: "c", labels: { "srun-docker.uid": "1005" } },
      { name: "d", labels: {} },
    ],
  ],
])("%s", (_name, stdout, expected) => {
  expect(parsePsJson(stdout)).toEqual(expected);
});
