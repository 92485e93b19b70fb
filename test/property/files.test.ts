/**
 * Property-based tests of policy files (issue 8: properties e and h, and
 * fmt on any input): splitting files, reformatting with fmt and converting
 * R4.0 files never change a decision. `npm run fuzz` runs them at scale.
 */
import t from 'tap';
import { FILE_PROPERTIES } from './lib/props-files.js';
import { tapProperty } from './lib/property.js';

for (const p of FILE_PROPERTIES) tapProperty(t, p);
