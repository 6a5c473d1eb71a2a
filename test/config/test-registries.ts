/**
 * Component kinds for config tests, so the fixtures do not change meaning when other
 * components are added to the real registries. Same shape as real descriptors.
 */
import { z } from 'zod';
import type { ComponentRegistries } from '../../src/config/pipeline-spec.ts';
import { byteSize, duration } from '../../src/config/units.ts';

const never = (): never => {
  throw new Error('test descriptor: not for running');
};

export const testRegistries: ComponentRegistries = {
  sources: [
    {
      kind: 'test_source',
      summary: 'A source for config tests.',
      config: z.strictObject({
        host: z.string().min(1).describe('Server host.'),
        port: z.number().int().min(1).max(65535).default(5432).describe('Server port.'),
        password: z.string().min(12).optional().describe('Password (at least 12 characters).'),
        poll_interval: duration().prefault('1s').describe('How often to poll.'),
        batch_bytes: byteSize().prefault('1MiB').describe('Largest batch.'),
        tables: z.array(z.string()).default([]).describe('Tables to read.'),
      }),
      create: never,
    },
    { kind: 'test_events', summary: 'Another source.', config: z.strictObject({ rate: z.number().default(1).describe('Events per second.') }), create: never },
  ],
  transforms: [
    { kind: 'mask', summary: 'Masks columns.', config: z.strictObject({ columns: z.array(z.string()).min(1).describe('Columns to mask.') }), create: never },
  ],
  deliveries: [
    {
      kind: 'test_sink',
      summary: 'A delivery for config tests.',
      config: z.strictObject({
        format: z.enum(['jsonl', 'csv', 'parquet']).default('jsonl').describe('File format.'),
        max_age: duration().prefault('60s').describe('Longest a batch waits.'),
        api_token: z.string().regex(/^tok_/).optional().describe('Token.'),
      }),
      create: never,
    },
  ],
};
