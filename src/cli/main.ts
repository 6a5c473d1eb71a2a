/**
 * `hydrant` entry point: dispatches to the commands of `commands/index.ts`. Errors derived
 * from HydrantError print their message (what, where, what to do) without a stack trace.
 */
import { HydrantError } from '../core/errors.ts';
import { commands } from './commands/index.ts';

function help(): string {
  const lines = ['hydrant: change data capture into a data lake', '', 'usage:'];
  for (const c of commands) lines.push(`  ${c.usage}`, `      ${c.summary}`);
  lines.push('', 'Docs: README.md and docs/ (configuration.md lists every component and option).');
  return lines.join('\n');
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (cmd === undefined) {
    process.stderr.write(`hydrant: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof HydrantError) {
      process.stderr.write(`hydrant ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
