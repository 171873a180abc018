/**
 * `srun-docker completion bash`: a bash completion script generated from the option tables that
 * render `--help` (help.ts's topics), so it completes exactly the options, subcommands and
 * values the command line takes. It needs bash 4.3 and nothing of the bash-completion package.
 * `--opt=` completes the option's choices (`--launcher=` → ssh each srun), as does `--opt `.
 */
import { TOPICS } from "./help.js";
import type { OptionSpec } from "./option-specs.js";

function optionNames(spec: OptionSpec): string[] {
  return spec.legacy === undefined ? [`--${spec.name}`] : [`--${spec.name}`, `--${spec.legacy}`];
}

/** What a word completes to: `--name=` for an option that takes a value, `--name` for a flag. */
function optionWords(specs: readonly OptionSpec[]): string {
  return specs.flatMap((spec) => optionNames(spec).map((n) => (spec.value === undefined ? n : `${n}=`))).join(" ");
}

/** Names as the script compares them: `_` read as `-`, as the command line reads them. */
function dashed(name: string): string {
  return name.replaceAll("_", "-");
}

function topicNames(): string[] {
  return Object.keys(TOPICS);
}

function optionsFunction(): string[] {
  const cases = topicNames().map(
    (topic) => `    ${topic}) echo "${optionWords(TOPICS[topic as keyof typeof TOPICS].specs)}" ;;`,
  );
  return ["_srun_docker_options() {", "  case $1 in", ...cases, "  esac", "}"];
}

function choicesFunction(): string[] {
  const cases = topicNames().flatMap((topic) =>
    TOPICS[topic as keyof typeof TOPICS].specs.flatMap((spec) => {
      if (spec.choices === undefined) return [];
      const patterns = [...new Set(optionNames(spec).map((n) => `${topic}:${dashed(n)}`))].join("|");
      return [`    ${patterns}) echo "${spec.choices.join(" ")}" ;;`];
    }),
  );
  return ["_srun_docker_choices() {", "  case $1:$2 in", ...cases, "  esac", "}"];
}

const MAIN_FUNCTION = `_srun_docker() {
  local line=\${COMP_LINE:0:COMP_POINT} cur="" sub=run choices
  local -a words found
  read -ra words <<<"$line"
  if [[ $line != *[[:space:]] ]]; then
    cur=\${words[-1]}
    unset 'words[-1]'
  fi
  # A subcommand is only ever the first word; after -- the words are the script's.
  case " SUBCOMMANDS " in *" \${words[1]-} "*) sub=\${words[1]} ;; esac
  [[ " \${words[*]} " == *" -- "* ]] && return 0
  if [[ $cur == --*=* ]]; then
    local name=\${cur%%=*}
    choices=$(_srun_docker_choices "$sub" "\${name//_/-}")
    mapfile -t found < <(compgen -W "$choices" -- "\${cur#*=}")
    if [[ $COMP_WORDBREAKS == *=* ]]; then COMPREPLY=("\${found[@]}"); else COMPREPLY=("\${found[@]/#/$name=}"); fi
    return 0
  fi
  local prev=\${words[-1]}
  if [[ $cur != -* && $prev == --* && $prev != *=* ]]; then
    choices=$(_srun_docker_choices "$sub" "\${prev//_/-}")
    if [[ -n $choices ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
      return 0
    fi
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_srun_docker_options "$sub")" -- "$cur")
    if [[ \${#COMPREPLY[@]} == 1 && \${COMPREPLY[0]} == *= ]]; then compopt -o nospace 2>/dev/null; fi
    return 0
  fi
  if ((\${#words[@]} == 1)); then
    mapfile -t COMPREPLY < <(compgen -W "SUBCOMMANDS" -- "$cur")
    return 0
  fi
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}`;

export function renderBashCompletion(version: string): string {
  const subcommands = [...topicNames().filter((t) => t !== "run"), "help", "completion", "man"].join(" ");
  return [
    `# bash completion for srun-docker ${version}, made by \`srun-docker completion bash\` from its option tables.`,
    ...optionsFunction(),
    ...choicesFunction(),
    MAIN_FUNCTION.replaceAll("SUBCOMMANDS", subcommands),
    "complete -F _srun_docker srun-docker",
    "",
  ].join("\n");
}
