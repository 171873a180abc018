// Diagnostics on stderr, prefixed by who says them (`[node2 worker]`), so the interleaved
// output of N nodes under srun stays readable. Job output never goes through here.
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** A failure that does not end this node's run by itself (e.g. a teardown that failed). */
  error(message: string): void;
  debug(message: string): void;
}

export interface LoggerOptions {
  prefix: string;
  debug?: boolean;
  write?: (text: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((text: string) => process.stderr.write(text));
  const say = (text: string) => write(`[${options.prefix}] ${text}\n`);
  return {
    info: (m) => say(m),
    warn: (m) => say(`warning: ${m}`),
    error: (m) => say(`error: ${m}`),
    debug: (m) => {
      if (options.debug) say(m);
    },
  };
}

/** Wall-clock phases of one node's run, for the one-line summary and the benchmark. */
export class PhaseTimer {
  private readonly marks: Array<[string, number]> = [];
  private last: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.last = now();
  }

  /** Ends the current phase under `name`. */
  mark(name: string): void {
    const t = this.now();
    this.marks.push([name, t - this.last]);
    this.last = t;
  }

  summary(): string {
    return this.marks.map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)}s`).join(", ");
  }
}
