/**
 * The generator's e-commerce tables (schema version 1): customers, products, orders and
 * order_items. Column types use Hydrant's logical types; `sourceType` shows the PostgreSQL
 * type the same table would have, so the lake looks like a captured database.
 */
import type { ColumnSchema, ColumnType, TableSchema } from '../../core/schema.ts';
import { ORDER_STATUSES } from './words.ts';

/** Table names in the order they are described. */
export const TABLES = ['customers', 'products', 'orders', 'order_items'] as const;
export type TableName = (typeof TABLES)[number];

function col(name: string, type: ColumnType, sourceType: string, nullable = false): ColumnSchema {
  return { name, type, nullable, sourceType };
}

const ID = col('id', { kind: 'int64' }, 'bigint');

const COLUMNS: Record<TableName, readonly ColumnSchema[]> = {
  customers: [
    ID,
    col('name', { kind: 'string' }, 'text'),
    col('email', { kind: 'string' }, 'text'),
    col('phone', { kind: 'string' }, 'text', true),
    col('address', { kind: 'string' }, 'text', true),
    col('birth_date', { kind: 'date' }, 'date', true),
    col('created_at', { kind: 'timestamptz' }, 'timestamptz'),
  ],
  products: [
    ID,
    col('name', { kind: 'string' }, 'text'),
    col('price', { kind: 'decimal', precision: 10, scale: 2 }, 'numeric(10,2)'),
    col('stock', { kind: 'int32' }, 'integer'),
  ],
  orders: [
    ID,
    col('customer_id', { kind: 'int64' }, 'bigint'),
    col('status', { kind: 'enum', values: ORDER_STATUSES }, 'order_status'),
    col('total', { kind: 'decimal', precision: 12, scale: 2 }, 'numeric(12,2)'),
    col('placed_at', { kind: 'timestamptz' }, 'timestamptz'),
  ],
  order_items: [
    ID,
    col('order_id', { kind: 'int64' }, 'bigint'),
    col('product_id', { kind: 'int64' }, 'bigint'),
    col('quantity', { kind: 'int32' }, 'integer'),
    col('unit_price', { kind: 'decimal', precision: 10, scale: 2 }, 'numeric(10,2)'),
  ],
};

/** The four table schemas for a generator named `source`. */
export function generatorSchemas(source: string, database: string, schema: string): TableSchema[] {
  return TABLES.map((table) => ({ source, database, schema, table, version: 1, columns: COLUMNS[table], primaryKey: ['id'] }));
}
