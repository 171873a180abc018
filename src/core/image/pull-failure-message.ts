import { UserError } from "../common/index.js";
import { compressHostlist } from "../hostlist/index.js";
import type { PullFailure, PullFailureKind } from "./pull-failure.js";

/** What a pull failure message names besides the failure itself. */
export interface PullContext {
  /** As the user wrote it (`--container`). */
  readonly image: string;
  /** host[:port], e.g. `docker.io`, `reg.example.com:5000`. */
  readonly registry: string;
  /** The repository in the registry, e.g. `team/app`. */
  readonly repository: string;
  /** The tag or digest asked for. */
  readonly reference: string;
  readonly engine: "docker" | "podman";
  /** How many times the registry was asked (for 429/5xx/resets, which are retried). */
  readonly attempts?: number;
  readonly timeoutSeconds?: number;
}

interface Words {
  readonly what: string;
  readonly hint: string;
}

/** One line naming the node(s), the image and the registry, and a hint for the fix. */
export function describePullFailure(failure: PullFailure, nodes: string, context: PullContext): UserError {
  const { what, hint } = words(failure, nodes, context);
  return new UserError(
    `pull-${failure.kind}`,
    `cannot pull \`${context.image}\` on ${nodes} from ${context.registry}: ${what}`,
    {
      hint,
    },
  );
}

function words(failure: PullFailure, nodes: string, c: PullContext): Words {
  const login = `${c.engine} login ${c.registry}`;
  const tries = c.attempts !== undefined && c.attempts > 1 ? ` (${c.attempts} tries)` : "";
  const certsDir = c.engine === "docker" ? "/etc/docker/certs.d" : "/etc/containers/certs.d";
  switch (failure.kind) {
    case "manifest-unknown":
      return {
        what: `${c.reference.includes(":") ? "no manifest" : "no tag"} \`${c.reference}\` in ${c.repository} (${failure.detail})`,
        hint: "check the tag or digest in --container; the repository exists, this version of it does not",
      };
    case "name-unknown":
      return {
        what: `no repository \`${c.repository}\` (${failure.detail})`,
        hint: "check the image name in --container",
      };
    case "unauthorized":
      return {
        what: `not authorized (${failure.detail})${c.registry === "docker.io" ? "; or the repository does not exist" : ""}`,
        hint: `run \`${login}\` as the user who runs the job, then run it again`,
      };
    case "forbidden":
      return {
        what: `access denied to ${c.repository} (${failure.detail})`,
        hint: `ask the registry's owner for pull access, or run \`${login}\` as a user who has it`,
      };
    case "unreachable":
      return {
        what: `cannot reach the registry (${failure.detail})`,
        hint: `check the registry's name, DNS, the engine's proxy settings and the firewall on ${nodes}`,
      };
    case "connection-reset":
      return {
        what: `the connection was reset${tries} (${failure.detail})`,
        hint: "a proxy or load balancer on the way drops connections; try again, or --pull-once to pull on one node only",
      };
    case "tls":
      return {
        what: `its TLS certificate is not trusted (${failure.detail})`,
        hint: `install the registry's CA as ${certsDir}/${c.registry}/ca.crt on every node`,
      };
    case "rate-limited":
      return {
        what: `the registry limits pulls${tries} (${failure.detail})`,
        hint: `log in for a higher limit (\`${login}\`), pull once per job (--pull-once), or use a mirror`,
      };
    case "server-error":
      return {
        what: `the registry failed${tries} (${failure.detail})`,
        hint: "the registry is in trouble; try again later",
      };
    case "disk-full":
      return {
        what: `no space left on the engine's disk (${failure.detail})`,
        hint: `free space where ${c.engine} keeps images on ${nodes} (\`${c.engine} system df\`, \`${c.engine} image prune\`)`,
      };
    case "timeout":
      return {
        what: `not done within --pull-timeout (${c.timeoutSeconds ?? "?"} s)`,
        hint: "raise --pull-timeout for a large image on a slow link, or --pull-once to pull it once per job",
      };
    case "other":
      return {
        what: failure.detail,
        hint: `\`${c.engine} pull ${c.image}\` on ${nodes} shows the same error`,
      };
    default:
      return assertNever(failure.kind);
  }
}

/** One node's outcome of a job's pull: done, or why not. */
export interface NodePullOutcome {
  readonly node: string;
  readonly failure: PullFailure | undefined;
}

/**
 * The job's one error for its nodes' pulls (undefined when all pulled): the nodes that
 * failed the same way named together. A node that cannot reach the registry while others
 * pulled from it is that node's network, not the registry, and is said so.
 */
export function describeJobPullFailures(
  outcomes: readonly NodePullOutcome[],
  context: PullContext,
): UserError | undefined {
  const failed = outcomes.filter((o): o is { node: string; failure: PullFailure } => o.failure !== undefined);
  const [first] = failed;
  if (first === undefined) return undefined;
  const same = failed.filter((o) => o.failure.kind === first.failure.kind);
  const nodes = compressHostlist(same.map((o) => o.node));
  const pulled = outcomes.filter((o) => o.failure === undefined).map((o) => o.node);
  const others = otherFailures(failed.filter((o) => o.failure.kind !== first.failure.kind));
  if (pulled.length > 0 && (first.failure.kind === "unreachable" || first.failure.kind === "tls")) {
    const onlyHere = first.failure.kind === "unreachable" ? "cannot reach it" : "does not trust its certificate";
    return new UserError(
      `pull-${first.failure.kind}`,
      `cannot pull \`${context.image}\` on ${nodes}: the engine there ${onlyHere} while ${compressHostlist(pulled)} pulled from ${context.registry} (${first.failure.detail})${others}`,
      {
        hint:
          first.failure.kind === "unreachable"
            ? `compare ${nodes} with ${compressHostlist(pulled)}: DNS, the engine's proxy settings (HTTPS_PROXY in its service), firewall`
            : words(first.failure, nodes, context).hint,
      },
    );
  }
  const error = describePullFailure(first.failure, nodes, context);
  return others === "" ? error : new UserError(error.code, `${error.message}${others}`, { hint: error.hint ?? "" });
}

/** `; node4: disk full; node[5-6]: unreachable`: the other ways nodes failed, in short. */
function otherFailures(failed: readonly { node: string; failure: PullFailure }[]): string {
  const kinds = [...new Set(failed.map((o) => o.failure.kind))];
  return kinds
    .map(
      (kind) =>
        `; ${compressHostlist(failed.filter((o) => o.failure.kind === kind).map((o) => o.node))}: ${SHORT[kind]}`,
    )
    .join("");
}

const SHORT: Readonly<Record<PullFailureKind, string>> = {
  "manifest-unknown": "no such tag",
  "name-unknown": "no such repository",
  unauthorized: "not authorized",
  forbidden: "access denied",
  unreachable: "registry unreachable",
  "connection-reset": "connection reset",
  tls: "certificate not trusted",
  "rate-limited": "rate-limited",
  "server-error": "registry failed",
  "disk-full": "disk full",
  timeout: "timed out",
  other: "failed",
};

function assertNever(kind: never): never {
  throw new Error(`internal error: unhandled pull failure ${String(kind)}; please report`);
}
