/** The `lake` delivery's descriptor. */
import type { ComponentDescriptor } from '../../core/component.ts';
import type { Delivery } from '../delivery.ts';
import { lakeDeliveryConfig } from './config.ts';
import { LakeDelivery } from './lake-delivery.ts';

export const lakeDelivery: ComponentDescriptor<typeof lakeDeliveryConfig, Delivery> = {
  kind: 'lake',
  summary: 'Buffered, partitioned, exactly-once Parquet/JSONL/CSV objects in the lake, registered in the catalog.',
  config: lakeDeliveryConfig,
  create: (config, ctx) => new LakeDelivery(config, { name: ctx.name, dataDir: ctx.dataDir, state: ctx.state, lake: ctx.lake, log: ctx.log, logger: ctx.logger.child({ delivery: ctx.name }), metrics: ctx.metrics }),
};
