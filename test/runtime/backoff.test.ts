import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackoffError, ConfigError, ConnectionError } from '../../src/core/errors.ts';
import { createLogger } from '../../src/core/logger.ts';
import { withBackoff } from '../../src/runtime/backoff.ts';

function collector(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'info', sink: (l) => lines.push(l) }) };
}

test('retries ConnectionError and BackoffError, logging each retry and the recovery', async () => {
  const { lines, logger } = collector();
  let calls = 0;
  const out = await withBackoff('source pg: next', logger, new AbortController().signal, async () => {
    calls++;
    if (calls === 1) throw new ConnectionError('connection refused by db:5432');
    if (calls === 2) throw new BackoffError('throttled', 5);
    return 'ok';
  }, { initialMs: 1 });
  assert.equal(out, 'ok');
  assert.equal(calls, 3);
  assert.equal(lines.filter((l) => l.includes('retrying in')).length, 2);
  assert.match(lines[1] ?? '', /retrying in 5 ms/, 'a BackoffError waits the time it asks for');
  assert.match(lines[2] ?? '', /recovered/);
});

test('other errors are thrown at once; an aborted signal stops retrying', async () => {
  const { logger } = collector();
  let calls = 0;
  await assert.rejects(withBackoff('x', logger, new AbortController().signal, async () => {
    calls++;
    throw new ConfigError([]);
  }), ConfigError);
  assert.equal(calls, 1);
  const ac = new AbortController();
  calls = 0;
  await assert.rejects(withBackoff('x', logger, ac.signal, async () => {
    calls++;
    ac.abort();
    throw new ConnectionError('gone');
  }, { initialMs: 1 }), ConnectionError);
  assert.equal(calls, 1);
});
