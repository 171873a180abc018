// Entry point of the bundle: parse, dispatch, and turn every failure into one clear line.
// Exit codes: the job script's own; 1 tool failure; 2 usage error; 128+n on signal n.
import { type Command, parseCommandLine } from "./cli/command-line.js";
import { CONFIG_KEYS } from "./cli/option-specs.js";
import { EXIT_TOOL_FAILURE, renderUserError, SaidElsewhere, sayOncePerStep, UserError } from "./core/common/index.js";
import { parseConfigFile } from "./core/plan/index.js";
import { isSlurmCommand } from "./core/slurm-relay/index.js";
import { VERSION, versionLine } from "./version.js";

async function dispatch(command: Command): Promise<number> {
  switch (command.kind) {
    case "help": {
      // commander renders the help, and only the help: no other start pays for loading it.
      const text = (await import("./cli/help.js")).renderHelp(command.topic);
      process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
      return 0;
    }
    case "version":
      process.stdout.write(`${versionLine()}\n`);
      return 0;
    case "completion":
      process.stdout.write((await import("./cli/completion.js")).renderBashCompletion(VERSION));
      return 0;
    case "man":
      process.stdout.write((await import("./cli/man-page.js")).renderManPage(VERSION));
      return 0;
    case "run":
      return (await import("./commands/run/index.js")).runJob(command.options);
    case "hostlist":
      return (await import("./commands/hostlist.js")).runHostlist(command.op, command.args, command.sort);
    case "clean":
      return (await import("./commands/clean.js")).runClean(command.options);
    case "pull":
      // The run's image step alone: it lives with the run (ARCHITECTURE.md, "Pulling images").
      return (await import("./commands/run/image/index.js")).runPull(command.options);
    case "sshconfig":
      return (await import("./commands/sshconfig.js")).runSshconfig(command.options);
    case "asuser":
      return (await import("./commands/asuser.js")).runAsuser(command.options);
    case "doctor":
      return (await import("./commands/doctor.js")).runDoctor(command.options);
    case "exec":
      return (await import("./commands/exec.js")).runExec(command.options);
    case "config":
      return (await import("./commands/config.js")).runConfig(command.settings);
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

function report(error: unknown, debug: boolean): number {
  if (error instanceof SaidElsewhere) return error.exitCode;
  if (error instanceof UserError) {
    process.stderr.write(renderUserError(error));
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`srun-docker: internal error: ${message} (please report: run again with --debug for details)\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT_TOOL_FAILURE;
}

/**
 * The agent's entry points (commands/agent.ts), told apart before any option parsing or config
 * file, so `ssh` (mpirun and pdsh start one per node) loads nothing else: this binary invoked
 * under the name `ssh` (argv[1] is the name it was started by, for the bundle and the single
 * executable alike), or the hidden subcommands `agent-ssh` and `agent-server`; and under the
 * names of Slurm's commands, the Slurm relay's client (commands/slurm-command.ts).
 */
function agentEntry(argv: string[]): (() => Promise<number>) | undefined {
  const invokedAs = (process.argv[1] ?? "").split("/").pop() ?? "";
  if (isSlurmCommand(invokedAs)) {
    return async () => {
      try {
        return await (await import("./commands/slurm-command.js")).runSlurmCommandInContainer(invokedAs, argv);
      } catch (error) {
        process.stderr.write(`srun-docker ${invokedAs}: internal error: ${String(error)} (please report)\n`);
        return 126;
      }
    };
  }
  if (invokedAs === "ssh" || argv[0] === "agent-ssh") {
    const sshArgv = invokedAs === "ssh" ? argv : argv.slice(1);
    return async () => {
      try {
        return await (await import("./commands/agent.js")).runAgentSsh(sshArgv);
      } catch (error) {
        process.stderr.write(`srun-docker ssh: internal error: ${String(error)} (please report)\n`);
        return 255;
      }
    };
  }
  if (argv[0] === "agent-server") {
    return async () => {
      try {
        return await (await import("./commands/agent.js")).runAgentServerCommand();
      } catch (error) {
        return report(error, argv.includes("--debug"));
      }
    };
  }
  return undefined;
}

async function runCli(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  let command: Command;
  try {
    const { readConfigFiles } = await import("./io/files/index.js");
    const layers = (await readConfigFiles(process.env)).map(({ file, text }) =>
      parseConfigFile(file, text, CONFIG_KEYS),
    );
    command = parseCommandLine(argv, process.env, layers);
  } catch (error) {
    // Every task of an srun step reads the same argv, environment and (shared) config files.
    return report(sayOncePerStep(error, process.env), debug);
  }
  try {
    return await dispatch(command);
  } catch (error) {
    return report(error, debug);
  }
}

async function main(argv: string[]): Promise<void> {
  const agent = agentEntry(argv);
  const code = agent === undefined ? await runCli(argv) : await agent();
  process.exitCode = code;
  // Sockets or timers left by a failed step must not keep a finished run alive.
  setImmediate(() => process.exit(code));
}

void main(process.argv.slice(2));
