/** Every transform kind. Adding a transform: a new folder under src/transforms/ and one line here. */
import type { ComponentDescriptor } from '../core/component.ts';
import type { Transform } from './transform.ts';
import { anonymize } from './anonymize/anonymize.ts';
import { select } from './select/select.ts';
import { rename } from './rename/rename.ts';
import { add } from './add/add.ts';
import { filter } from './filter/filter.ts';
import { flatten } from './flatten/flatten.ts';
import { validate } from './validate/validate.ts';
import { functionTransform } from './function/function.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const transformKinds: ReadonlyArray<ComponentDescriptor<any, Transform>> = [
  anonymize,
  select,
  rename,
  add,
  filter,
  flatten,
  validate,
  functionTransform,
];
