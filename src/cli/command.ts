/** A CLI subcommand. Each lives in `src/cli/commands/<name>.ts` and is listed in `commands/index.ts`. */
export interface Command {
  readonly name: string;
  /** One line for `hydrant help`. */
  readonly summary: string;
  /** Usage line, e.g. `hydrant validate FILE`. */
  readonly usage: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: readonly string[]): Promise<number>;
}
