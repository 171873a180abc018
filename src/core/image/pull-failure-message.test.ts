import { expect, test } from "vitest";
import type { PullFailureKind } from "./pull-failure.js";
import { describeJobPullFailures, describePullFailure, type PullContext } from "./pull-failure-message.js";

const context: PullContext = {
  image: "reg.example:5000/team/app:1.2",
  registry: "reg.example:5000",
  repository: "team/app",
  reference: "1.2",
  engine: "docker",
  attempts: 5,
  timeoutSeconds: 1800,
};
const failure = (kind: PullFailureKind, detail = "said") => ({ kind, detail });
const PREFIX = "cannot pull `reg.example:5000/team/app:1.2` on node2 from reg.example:5000: ";

test.each<[PullFailureKind, string, string]>([
  ["manifest-unknown", "no tag `1.2` in team/app (said)", "check the tag or digest"],
  ["name-unknown", "no repository `team/app` (said)", "check the image name"],
  ["unauthorized", "not authorized (said)", "run `docker login reg.example:5000` as the user who runs the job"],
  ["forbidden", "access denied to team/app (said)", "run `docker login reg.example:5000` as a user who has it"],
  ["unreachable", "cannot reach the registry (said)", "firewall on node2"],
  ["connection-reset", "the connection was reset (5 tries) (said)", "--pull-once"],
  ["tls", "its TLS certificate is not trusted (said)", "/etc/docker/certs.d/reg.example:5000/ca.crt on every node"],
  ["rate-limited", "the registry limits pulls (5 tries) (said)", "--pull-once"],
  ["server-error", "the registry failed (5 tries) (said)", "try again later"],
  ["disk-full", "no space left on the engine's disk (said)", "`docker system df`"],
  ["timeout", "not done within --pull-timeout (1800 s)", "raise --pull-timeout"],
  ["other", "said", "`docker pull reg.example:5000/team/app:1.2` on node2"],
])("%s: one line naming node, image and registry, and a hint", (kind, what, hint) => {
  const error = describePullFailure(failure(kind), "node2", context);
  expect(error.message).toBe(`${PREFIX}${what}`);
  expect(error.message).not.toContain("\n");
  expect(error.hint).toContain(hint);
  expect(error.code).toBe(`pull-${kind}`);
});

test("docker.io: a 401 may also be a repository that does not exist; podman's login and certs dir", () => {
  const hub = { ...context, image: "nope/app", registry: "docker.io", engine: "podman" as const };
  const error = describePullFailure(failure("unauthorized"), "node1", hub);
  expect(error.message).toContain("or the repository does not exist");
  expect(error.hint).toContain("`podman login docker.io`");
  expect(describePullFailure(failure("tls"), "node1", hub).hint).toContain("/etc/containers/certs.d/docker.io/ca.crt");
});

test("a digest is a manifest, not a tag", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  expect(describePullFailure(failure("manifest-unknown"), "n1", { ...context, reference: digest }).message).toContain(
    `no manifest \`${digest}\``,
  );
});

test.each<[string, { node: string; failure: ReturnType<typeof failure> | undefined }[], string | undefined]>([
  ["all pulled", [{ node: "node1", failure: undefined }], undefined],
  [
    "the same failure everywhere names the nodes together",
    [
      { node: "node1", failure: failure("unauthorized") },
      { node: "node2", failure: failure("unauthorized") },
    ],
    "cannot pull `reg.example:5000/team/app:1.2` on node[1-2] from reg.example:5000: not authorized (said)",
  ],
  [
    "one node cannot reach a registry the others pulled from",
    [
      { node: "node1", failure: undefined },
      { node: "node2", failure: undefined },
      { node: "node3", failure: failure("unreachable", "dial tcp: lookup reg.example: no such host") },
    ],
    "cannot pull `reg.example:5000/team/app:1.2` on node3: the engine there cannot reach it while node[1-2] pulled from reg.example:5000 (dial tcp: lookup reg.example: no such host)",
  ],
  [
    "different failures: the first, and the others in short",
    [
      { node: "node1", failure: failure("disk-full") },
      { node: "node2", failure: failure("unreachable") },
      { node: "node3", failure: failure("unreachable") },
    ],
    "cannot pull `reg.example:5000/team/app:1.2` on node1 from reg.example:5000: no space left on the engine's disk (said); node[2-3]: registry unreachable",
  ],
])("describeJobPullFailures: %s", (_, outcomes, message) => {
  expect(describeJobPullFailures(outcomes, context)?.message).toBe(message);
});

test("a node that does not trust the certificate the others trust: its own CA is missing", () => {
  const error = describeJobPullFailures(
    [
      { node: "a1", failure: undefined },
      { node: "a2", failure: failure("tls", "x509: certificate signed by unknown authority") },
    ],
    context,
  );
  expect(error?.message).toContain("on a2: the engine there does not trust its certificate while a1 pulled");
  expect(error?.hint).toContain("/etc/docker/certs.d/reg.example:5000/ca.crt");
});

test("unreachable on one node: the hint compares it with the nodes that pulled", () => {
  const error = describeJobPullFailures(
    [
      { node: "a1", failure: undefined },
      { node: "a2", failure: failure("unreachable") },
    ],
    context,
  );
  expect(error?.hint).toBe(
    "compare a2 with a1: DNS, the engine's proxy settings (HTTPS_PROXY in its service), firewall",
  );
});
