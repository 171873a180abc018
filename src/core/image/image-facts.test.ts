import { expect, test } from "vitest";
import { parseImageFacts } from "./image-facts.js";

test.each([
  ["sha256:1\n", { id: "sha256:1", path: undefined }],
  ["sha256:1\nPATH=/opt/conda/bin:/usr/bin\nLANG=C.UTF-8\n", { id: "sha256:1", path: "/opt/conda/bin:/usr/bin" }],
  ["sha256:1\nLANG=C\nPATH=\n", { id: "sha256:1", path: undefined }],
  ["sha256:1\nMYPATH=/x\n", { id: "sha256:1", path: undefined }],
])("parseImageFacts(%j)", (stdout, facts) => {
  expect(parseImageFacts(stdout)).toEqual(facts);
});
