/** Argv printed as a command a user can paste into a POSIX shell (or zsh) and get the same argv. */
import { quote } from "shell-quote";

/** A word every shell keeps as it is stays bare, for reading (not `=x`: zsh expands it); others via shell-quote. */
export function formatCommand(args: readonly string[]): string {
  return args.map((arg) => (/^[\w@%+:,./-][\w@%+=:,./-]*$/.test(arg) ? arg : quote([arg]))).join(" ");
}
