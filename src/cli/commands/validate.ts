/** `hydrant validate FILE`: checks a pipeline file and reports every problem at once. */
import { ConfigError, formatConfigIssues } from '../../core/errors.ts';
import { loadPipeline } from '../../config/load-pipeline.ts';
import type { PipelineSpec } from '../../config/pipeline-spec.ts';
import type { Command } from '../command.ts';

/** One line naming every component and how they connect (never a config value). */
export function summarizePipeline(spec: PipelineSpec): string {
  const list = <T>(items: Record<string, T>, word: string, render: (name: string, item: T) => string): string => {
    const n = Object.keys(items).length;
    return `${n} ${word}${n === 1 ? '' : 's'}${n === 0 ? '' : ` (${Object.entries(items).map(([k, v]) => render(k, v)).join(', ')})`}`;
  };
  const via = (t: readonly string[]): string => (t.length === 0 ? '' : ` via ${t.join(' > ')}`);
  return [
    `pipeline ${spec.name}`,
    list(spec.streams, 'stream', (n, s) => `${n}: ${s.shards} shard${s.shards === 1 ? '' : 's'}`),
    list(spec.sources, 'source', (n, s) => `${n}: ${s.type} -> ${s.stream}${via(s.transforms)}`),
    list(spec.transforms, 'transform', (n, t) => `${n}: ${t.type}`),
    list(spec.deliveries, 'delivery', (n, d) => `${n}: ${d.stream}${via(d.transforms)} -> ${d.type}`).replace('deliverys', 'deliveries'),
    `lake ${spec.lake.type}`,
    `state ${spec.state.type}`,
  ].join('; ');
}

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a pipeline file; print every problem with file:line: path',
  usage: 'hydrant validate FILE',
  async run(args) {
    if (args.length !== 1 || args[0] === undefined || args[0].startsWith('-')) {
      process.stderr.write('usage: hydrant validate FILE\n');
      return 2;
    }
    try {
      const spec = await loadPipeline(args[0]);
      process.stdout.write(`OK: ${summarizePipeline(spec)}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stdout.write(`${formatConfigIssues(err.issues)}\n${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} found in ${args[0]}\n`);
      return 1;
    }
  },
};
