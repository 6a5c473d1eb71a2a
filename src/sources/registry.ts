/** Every source kind. Adding a source: a new folder under src/sources/ and one line here. */
import type { ComponentDescriptor } from '../core/component.ts';
import type { Source } from './source.ts';
import { generatorSource } from './generator/generator-source.ts';
import { postgresSource } from './postgres/postgres-source.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const sourceKinds: ReadonlyArray<ComponentDescriptor<any, Source>> = [
  generatorSource,
  postgresSource,
];
