/** Every delivery kind. Adding a delivery: a new folder under src/delivery/ (or src/sinks/) and one line here. */
import type { ComponentDescriptor } from '../core/component.ts';
import type { Delivery } from './delivery.ts';
import { fileDelivery } from './file/file-delivery.ts';
import { lakeDelivery } from './lake/index.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const deliveryKinds: ReadonlyArray<ComponentDescriptor<any, Delivery>> = [
  fileDelivery,
  lakeDelivery,
];
