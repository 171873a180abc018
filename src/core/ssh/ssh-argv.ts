/**
 * ssh's command line, as mpirun, pdsh, Hydra, Horovod, DeepSpeed and users type it, read the
 * way OpenSSH reads it: options, the destination, more options if the next words start with
 * "-", then the command words, joined with single spaces (the remote runs them with `sh -c`).
 * Pure; io/agent/agent-client.ts acts on the plan.
 *
 * Options that only tune ssh itself (ciphers, keys, logging, X11 off, config files) are
 * accepted and ignored; those that ask for something the agent does not do (forwarding,
 * multiplexing, -N, -f, -X) are recorded, so a call to a node of the job can say so instead
 * of silently doing something else. A call to any other host goes to the image's real ssh
 * with the original argv, whatever its options.
 */

/** ssh's options that take an argument (OpenSSH 9: "b:c:D:E:e:F:I:i:J:L:l:m:O:o:P:p:Q:R:S:W:w:B:"). */
const WITH_ARGUMENT = new Set("bcDEeFIiJLlmOoPpQRSWwB");
/** Flags that change nothing for a command run through the agent. */
const IGNORED_FLAGS = new Set("1246aACgkKnqTvxy");
/** Flags (and options with arguments) the agent cannot honour. */
const UNSUPPORTED = new Set("fGMNsVXYDJLORWwQ");

export interface SshCall {
  host: string;
  /** The user named by `-l USER` or `USER@host` (the last one given). */
  login?: string;
  /** The command words joined by spaces; absent (or empty) for an interactive login shell. */
  command?: string;
  /** -t / -tt: allocate a pty; -T: never; otherwise a pty only for a login shell on a terminal. */
  pty: "yes" | "no" | "auto";
  /** -n: stdin is /dev/null (nothing is read from ours). */
  noStdin: boolean;
  /** Options the agent does not support, as typed ("-L", "-N"). */
  unsupported: string[];
}

export type SshArgv = { kind: "call"; call: SshCall } | { kind: "usage"; message: string };

export function parseSshArgv(argv: readonly string[]): SshArgv {
  const call: PartialCall = { pty: "auto", noStdin: false, unsupported: [] };
  const scan = { index: 0, optionsDone: false };
  while (scan.index < argv.length) {
    const step = readWord(argv, scan, call);
    if (step === "stop") break;
    if (step !== undefined) return { kind: "usage", message: step };
  }
  const index = scan.index;
  if (call.host === undefined) return { kind: "usage", message: "no destination given" };
  const command = argv.slice(index).join(" ");
  const { host, ...rest } = call;
  return { kind: "call", call: { host, ...rest, ...(command === "" ? {} : { command }) } };
}

type PartialCall = Omit<SshCall, "host"> & { host?: string };

/** One word of the argv: options, `--`, or the destination; "stop" at the command, or an error. */
function readWord(
  argv: readonly string[],
  scan: { index: number; optionsDone: boolean },
  call: PartialCall,
): string | "stop" | undefined {
  const word = argv[scan.index] as string;
  if (!scan.optionsDone && word === "--") {
    scan.optionsDone = true;
    scan.index++;
    return undefined;
  }
  if (!scan.optionsDone && word.startsWith("-") && word.length > 1) {
    const used = readOptionGroup(argv, scan.index, call);
    if (typeof used === "string") return used;
    scan.index += used;
    return undefined;
  }
  if (call.host !== undefined) return "stop";
  const destination = parseDestination(word);
  if (destination === undefined) return `bad destination \`${word}\``;
  call.host = destination.host;
  if (destination.login !== undefined) call.login = destination.login;
  scan.index++;
  return undefined;
}

/** Reads one word of flags ("-xq", "-p22", "-l user"); the number of words used, or an error. */
function readOptionGroup(argv: readonly string[], index: number, call: Omit<SshCall, "host">): number | string {
  const word = argv[index] as string;
  for (let at = 1; at < word.length; at++) {
    const letter = word[at] as string;
    if (WITH_ARGUMENT.has(letter)) return readOptionWithArgument(argv, index, at, call);
    const error = readFlag(letter, call);
    if (error !== undefined) return error;
  }
  return 1;
}

/** `-l user` or `-luser` (and the others that take a value): the words used, or an error. */
function readOptionWithArgument(
  argv: readonly string[],
  index: number,
  at: number,
  call: Omit<SshCall, "host">,
): number | string {
  const word = argv[index] as string;
  const letter = word[at] as string;
  const attached = word.slice(at + 1);
  const value = attached !== "" ? attached : argv[index + 1];
  if (value === undefined) return `option -${letter} needs an argument`;
  if (letter === "l") call.login = value;
  if (UNSUPPORTED.has(letter)) call.unsupported.push(`-${letter}`);
  return attached !== "" ? 1 : 2;
}

/** One flag without a value; an error for one ssh has but the agent does not know. */
function readFlag(letter: string, call: Omit<SshCall, "host">): string | undefined {
  if (letter === "t") call.pty = "yes";
  else if (letter === "T") call.pty = "no";
  if (letter === "n") call.noStdin = true;
  if (UNSUPPORTED.has(letter)) call.unsupported.push(`-${letter}`);
  else if (!IGNORED_FLAGS.has(letter) && letter !== "t") return `unknown option -${letter}`;
  return undefined;
}

/** `host`, `user@host` (the last "@" splits, as in OpenSSH), or `ssh://[user@]host[:port]`. */
function parseDestination(word: string): { host: string; login?: string } | undefined {
  let rest = word;
  if (rest.startsWith("ssh://")) {
    rest = rest.slice("ssh://".length).replace(/\/$/, "");
    rest = rest.replace(/:\d+$/, "");
  }
  const at = rest.lastIndexOf("@");
  const host = at === -1 ? rest : rest.slice(at + 1);
  if (host === "" || at === 0) return undefined;
  return at === -1 ? { host } : { host, login: rest.slice(0, at) };
}

/** A node of the job, as the integration gives it to the client. */
export interface AgentNode {
  name: string;
  /** The host its agent listens on (containers use the host's network), on one of the job's ports. */
  address: string;
}

export interface SshRoster {
  nodes: readonly AgentNode[];
  /** The job's user: the only one a node of the job can be reached as. */
  user: string;
}

export type SshPlan =
  /** Run `command` on `node` through its agent. */
  | { kind: "agent"; node: AgentNode; command?: string; pty: SshCall["pty"]; noStdin: boolean }
  /** Not a node of the job (or no destination at all): the image's real ssh, if any, gets the argv. */
  | { kind: "elsewhere"; reason: string }
  /** A node of the job, asked for something the agent refuses: exit 255 with this line. */
  | { kind: "refuse"; message: string };

export function planSshCall(argv: readonly string[], roster: SshRoster): SshPlan {
  const parsed = parseSshArgv(argv);
  if (parsed.kind === "usage") return { kind: "elsewhere", reason: parsed.message };
  const { call } = parsed;
  const node = findNode(roster.nodes, call.host);
  if (node === undefined) return { kind: "elsewhere", reason: `${call.host} is not a node of this job` };
  if (call.login !== undefined && call.login !== roster.user) {
    return {
      kind: "refuse",
      message: `${node.name} is a node of this job and runs as ${roster.user}, not as ${call.login}`,
    };
  }
  if (call.unsupported.length > 0) {
    const options = [...new Set(call.unsupported)].join(", ");
    return {
      kind: "refuse",
      message: `${node.name} is a node of this job, reached through srun-docker's agent, which does not support ${options}`,
    };
  }
  return {
    kind: "agent",
    node,
    ...(call.command === undefined ? {} : { command: call.command }),
    pty: call.pty,
    noStdin: call.noStdin,
  };
}

/** By name (host names are case-insensitive) or by the address the roster gives. */
export function findNode(nodes: readonly AgentNode[], host: string): AgentNode | undefined {
  const wanted = host.toLowerCase();
  return nodes.find((node) => node.name.toLowerCase() === wanted) ?? nodes.find((node) => node.address === host);
}
