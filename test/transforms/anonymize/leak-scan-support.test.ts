// The leak scanner itself: it must find a value in plain, gzip, zstd and snappy files and
// inside zstd-compressed Parquet pages, or the end-to-end leak tests would prove nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { compress } from '../../../src/delivery/compression.ts';
import { scanForLeaks } from './leak-scan-support.ts';

test('the leak scanner finds values in plain, compressed and Parquet files and in logs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hydrant-scanner-'));
  try {
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'plain.log'), 'x needle-plain y');
    writeFileSync(join(dir, 'a', 'x.jsonl.gz'), await compress('gzip', Buffer.from('{"v":"needle-gzip"}\n'.repeat(50))));
    writeFileSync(join(dir, 'a', 'x.jsonl.zst'), await compress('zstd', Buffer.from('{"v":"needle-zstd"}\n'.repeat(50))));
    writeFileSync(join(dir, 'a', 'x.jsonl.snappy'), await compress('snappy', Buffer.from('{"v":"needle-snappy"}\n'.repeat(50))));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const pq = join(dir, 'a', 'b', 't.parquet');
    await conn.run(`COPY (SELECT 'needle-parquet-' || (i % 3) AS s, repeat('z', 200) AS pad FROM range(5000) t(i)) TO '${pq}' (FORMAT PARQUET, COMPRESSION ZSTD)`);
    conn.closeSync();
    const needles = ['needle-plain', 'needle-gzip', 'needle-zstd', 'needle-snappy', 'needle-parquet-2', 'needle-log', 'absent-value'];
    const { leaks, files } = await scanForLeaks([dir], { logs: 'a needle-log line' }, needles);
    assert.equal(files, 5);
    assert.deepEqual([...new Set(leaks.map((l) => l.what))].sort(), needles.filter((n) => n !== 'absent-value').sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
