import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueToJson } from '../../../src/core/values.ts';
import { silentLogger } from '../../../src/core/logger.ts';
import { TypeResolver } from '../../../src/sources/postgres/type-map.ts';
import { columnReader, Latin1Text } from '../../../src/sources/postgres/column-readers.ts';
import { columnJsonFor } from '../../../src/sources/postgres/tuple-json.ts';

/** Texts PostgreSQL prints for each built-in type (edge cases included). */
const SAMPLES: Record<number, readonly string[]> = {
  16: ['t', 'f'],
  17: ['\\x', '\\x00ff10'],
  20: ['0', '-9223372036854775808', '9223372036854775807', '42'],
  21: ['0', '-32768', '32767'],
  23: ['0', '-2147483648', '2147483647', '7'],
  25: ['', 'plain', 'quote " and \\ backslash', 'tab\tnewline\n', 'é中😀', '\u0001', 'x'.repeat(100)],
  26: ['0', '4294967295'],
  114: ['{"a": 12345678901234567890}', '[1, "two", null]', '"\\u0000"'],
  700: ['1.5', 'NaN', 'Infinity', '-Infinity', '-0', '1e+20', '3.4028235e+38'],
  701: ['0.1', '-0', '1.7976931348623157e+308', '5e-324', 'NaN'],
  1042: ['a  ', ''],
  1043: ['varchar value'],
  1082: ['2026-11-22', '0001-01-01 BC', 'infinity', '-infinity'],
  1083: ['00:00:00', '23:59:59.999999'],
  1114: ['2026-11-22 02:15:18.312345', '2026-11-22 02:15:18', 'infinity', '-infinity', '0044-03-15 12:00:00 BC', '12026-01-01 00:00:00'],
  1184: ['2026-11-22 02:15:18.312345+00', '2026-11-22 02:15:18+05:30', 'infinity', '1999-12-31 23:59:59.5-08'],
  1186: ['PT0S', 'P1Y2M3DT4H5M6.5S', 'P-1Y-2M3DT-4H-5M-6.000001S'],
  1266: ['12:00:00+05:30', '00:00:00.000001-01'],
  1700: ['0', '-12.340', '12345678901234567890.123456789', 'NaN', 'Infinity', '-Infinity'],
  2950: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  3802: ['{"k": [1, 2.50, 9007199254740993]}', 'null'],
  1007: ['{1,2,NULL}', '{{1,2},{3,4}}', '{}'],
  1009: ['{"a b","x\\"y",NULL,plain}'],
  1016: ['{9223372036854775807,-1}'],
  1231: ['{1.50,NaN}'],
};

test('column bytes to JSON equal valueToJson of the parsed value, for every built-in type', async () => {
  const resolver = new TypeResolver(async () => undefined, silentLogger);
  const text = new Latin1Text();
  for (const [oid, texts] of Object.entries(SAMPLES)) {
    const t = await resolver.resolve(Number(oid), -1);
    const toJson = columnJsonFor(t.parse, columnReader(t));
    for (const s of texts) {
      // Inside a larger buffer, as in a pgoutput message.
      const v = Buffer.from(s, 'utf8');
      const b = Buffer.concat([Buffer.from('xx'), v, Buffer.from('y')]);
      text.clear();
      assert.equal(toJson(b, 2, 2 + v.length, text), valueToJson(t.parse(s)), `type ${t.sourceType} (${oid}) text ${JSON.stringify(s)}`);
    }
  }
});
