/** Every transform kind. Adding a transform: a new folder under src/transforms/ and one line here. */
import type { ComponentDescriptor } from '../core/component.ts';
import type { Transform } from './transform.ts';
import { anonymize } from './anonymize/anonymize.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const transformKinds: ReadonlyArray<ComponentDescriptor<any, Transform>> = [
  anonymize,
];
