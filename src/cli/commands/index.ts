/** Every CLI command. Adding a command: a file in this folder and one line here. */
import type { Command } from '../command.ts';
import { runCommand } from './run.ts';
import { demoCommand } from './demo.ts';
import { validateCommand } from './validate.ts';
import { scanPiiCommand } from './scan-pii.ts';
import { streamCommand } from './stream.ts';
import { mergeCommand } from './merge.ts';
import { queryCommand } from './query.ts';
import { tablesCommand } from './tables.ts';
import { checkCommand } from './check.ts';
import { dropSlotCommand } from './drop-slot.ts';
import { resnapshotCommand } from './resnapshot.ts';

export const commands: readonly Command[] = [
  runCommand,
  demoCommand,
  validateCommand,
  scanPiiCommand,
  streamCommand,
  mergeCommand,
  queryCommand,
  tablesCommand,
  checkCommand,
  dropSlotCommand,
  resnapshotCommand,
];
