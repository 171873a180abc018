// Entry point of the bundle: parse, dispatch, and turn every failure into one clear line.
// Exit codes: the job script's own; 1 tool failure; 2 usage error; 128+n on signal n.
import { type Command, parseCommandLine } from "./cli/command-line.js";
import { CONFIG_KEYS } from "./cli/option-specs.js";
import { parseConfigFile } from "./core/config-file.js";
import { EXIT_TOOL_FAILURE, UserError } from "./core/errors.js";
import { VERSION } from "./version.js";

async function dispatch(command: Command): Promise<number> {
  switch (command.kind) {
    case "help":
      process.stdout.write(command.text.endsWith("\n") ? command.text : `${command.text}\n`);
      return 0;
    case "version":
      process.stdout.write(`srun-docker ${VERSION}\n`);
      return 0;
    case "run":
      return (await import("./commands/run/index.js")).runJob(command.options);
    case "hostlist":
      return (await import("./commands/hostlist.js")).runHostlist(command.op, command.args, command.sort);
    case "clean":
      return (await import("./commands/clean.js")).runClean(command.options);
    case "sshconfig":
      return (await import("./commands/sshconfig.js")).runSshconfig(command.options);
    case "asuser":
      return (await import("./commands/asuser.js")).runAsuser(command.options);
    case "doctor":
      return (await import("./commands/doctor.js")).runDoctor(command.options);
    case "config":
      return (await import("./commands/config.js")).runConfig(command.settings);
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

function report(error: unknown, debug: boolean): number {
  if (error instanceof UserError) {
    process.stderr.write(`srun-docker: error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (debug && error.stack) process.stderr.write(`${error.stack}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`srun-docker: internal error: ${message} (please report: run again with --debug for details)\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return EXIT_TOOL_FAILURE;
}

async function main(argv: string[]): Promise<void> {
  const debug = argv.includes("--debug");
  let code: number;
  try {
    const { readConfigFiles } = await import("./io/config-files.js");
    const layers = (await readConfigFiles(process.env)).map(({ file, text }) =>
      parseConfigFile(file, text, CONFIG_KEYS),
    );
    code = await dispatch(parseCommandLine(argv, process.env, layers));
  } catch (error) {
    code = report(error, debug);
  }
  process.exitCode = code;
  // Sockets or timers left by a failed step must not keep a finished run alive.
  setImmediate(() => process.exit(code));
}

void main(process.argv.slice(2));
