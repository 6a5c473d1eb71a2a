/** Every CLI command. Adding a command: a file in this folder and one line here. */
import type { Command } from '../command.ts';

export const commands: readonly Command[] = [
];
