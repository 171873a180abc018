/**
 * `srun-docker man`: the manual page, srun-docker(1), in roff, made from the same topics and
 * option tables as `--help` (help.ts), so the two never disagree. The release and the Debian
 * package ship its output (scripts/release.mjs).
 */
import { formatFlags, type HelpTopic, TOPICS } from "./help.js";

/** Text as roff reads it: backslashes escaped, a line never starting with a control character. */
function roff(text: string): string {
  return text
    .replaceAll("\\", "\\e")
    .replaceAll("-", "\\-")
    .split("\n")
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join("\n");
}

function optionsOf(topic: HelpTopic): string[] {
  return TOPICS[topic].specs.flatMap((spec) => [
    ".TP",
    `.B ${roff(formatFlags(spec))}`,
    roff(`${spec.description}${spec.configurable ? " (*)" : ""}`),
  ]);
}

/** The run's text after its options (commands, what the script sees, examples), verbatim. */
function runAfter(): string[] {
  const after = TOPICS.run.after?.trim() ?? "";
  return after.split(/\n\n+/).flatMap((block) => [".PP", ".nf", roff(block), ".fi"]);
}

function subcommandSection(topic: Exclude<HelpTopic, "run">): string[] {
  const { usage, summary } = TOPICS[topic];
  return [
    ".SS",
    roff(topic),
    ".PP",
    `.B ${roff(usage)}`,
    ".PP",
    ".nf",
    roff(summary),
    ".fi",
    ".RS",
    ...optionsOf(topic),
    ".RE",
  ];
}

export function renderManPage(version: string): string {
  const { usage, summary } = TOPICS.run;
  const subcommands = (Object.keys(TOPICS) as HelpTopic[]).filter((t): t is Exclude<HelpTopic, "run"> => t !== "run");
  return [
    `.TH SRUN\\-DOCKER 1 "" "srun\\-docker ${roff(version)}" "User Commands"`,
    ".SH NAME",
    "srun\\-docker \\- run multi\\-node Docker/Podman containers under Slurm",
    ".SH SYNOPSIS",
    `.B ${roff(usage)}`,
    ".br",
    ".B srun\\-docker",
    ".I command",
    "[options]",
    ".SH DESCRIPTION",
    roff(summary),
    ".SH OPTIONS",
    ...optionsOf("run"),
    ...runAfter(),
    ".SH COMMANDS",
    ...subcommands.flatMap(subcommandSection),
    ".SH FILES",
    ".TP",
    ".I /etc/srun\\-docker/config.toml",
    "site settings, for the options marked (*)",
    ".TP",
    ".I ~/.config/srun\\-docker/config.toml",
    "the user's settings, over the site's; SRUN_DOCKER_<NAME> and the command line go over both",
    ".SH SEE ALSO",
    ".BR srun (1),",
    ".BR salloc (1),",
    ".BR docker (1)",
    "",
  ].join("\n");
}
