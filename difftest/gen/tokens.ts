/**
 * Every way a policy or a request can spell a qube, over the name pool of
 * test/property/gen/system.ts: names, `uuid:` forms, the `@dispvm:` forms
 * (by name and by uuid), dom0's three spellings, keywords, tags and types,
 * and names nothing has. The differential areas draw from these lists.
 */
import { NAMES, TAGS, uuidFor, ZERO_UUID } from '../../test/property/gen/system.js';

export const U = (n: string): string => `uuid:${uuidFor(n)}`;
/** A well-formed uuid no generated qube has. */
export const UNKNOWN_UUID = 'uuid:12345678-9abc-4def-8123-456789abcdef';
export const DOM0_SPELLINGS = ['dom0', '@adminvm', `uuid:${ZERO_UUID}`] as const;
export const DISPVM_TEMPLATES = ['dvm-a', 'dvm-b'] as const;

/** A qube named every way a rule column or a request can name one qube. */
export const QUBE_SPELLINGS: readonly string[] = [
  ...NAMES,
  ...NAMES.map(U),
  ...DOM0_SPELLINGS,
  'nobody',
  UNKNOWN_UUID,
];

/** `@dispvm` forms by name and uuid, of templates and of qubes that are not templates. */
export const DISPVM_SPELLINGS: readonly string[] = [
  '@dispvm',
  ...DISPVM_TEMPLATES.map((t) => `@dispvm:${t}`),
  ...DISPVM_TEMPLATES.map((t) => `@dispvm:${U(t)}`),
  '@dispvm:work',
  `@dispvm:${U('work')}`,
  '@dispvm:nobody',
];

export const TAG_TOKENS: readonly string[] = [...TAGS.map((t) => `@tag:${t}`), '@tag:nosuchtag'];
export const TYPE_TOKENS: readonly string[] = ['AppVM', 'TemplateVM', 'StandaloneVM', 'DispVM', 'AdminVM', 'RemoteVM', 'NoSuchVM'].map((t) => `@type:${t}`);
export const DISPVM_TAG_TOKENS: readonly string[] = ['@dispvm:@tag:dvm', '@dispvm:@tag:t1', '@dispvm:@tag:nosuchtag'];

/** Tokens valid in the SOURCE column (SPEC §3.1). */
export const SOURCE_COLUMN: readonly string[] = [
  ...QUBE_SPELLINGS, '@anyvm', '*', ...TAG_TOKENS, ...TYPE_TOKENS, ...DISPVM_TAG_TOKENS,
  ...DISPVM_TEMPLATES.map((t) => `@dispvm:${t}`),
];

/** Tokens valid in the TARGET column. */
export const TARGET_COLUMN: readonly string[] = [...SOURCE_COLUMN, '@default', ...DISPVM_SPELLINGS];

/** Values valid for `target=` / `default_target=` (names, dom0, @dispvm forms). */
export const REDIRECTS: readonly string[] = [...QUBE_SPELLINGS, ...DISPVM_SPELLINGS];

/** Requested targets a caller may not name (a bad request wherever they appear). */
export const ODD_REQUEST_TARGETS: readonly string[] = [
  '@anyvm', '*', '@tag:t1', '@type:AppVM', '@dispvm:@tag:dvm', '@dispvm:', '@bogus', 'uuid:', '@default:x',
  // disposables of qubes that are not templates for them
  '@dispvm:work', `@dispvm:${U('work')}`, '@dispvm:nobody',
];

/** Requested targets: everything a caller can send, valid or not. */
export const REQUEST_TARGETS: readonly string[] = [...new Set([...QUBE_SPELLINGS, '', '@default', ...DISPVM_SPELLINGS, ...ODD_REQUEST_TARGETS])];

/** Calling qubes as qrexec-daemon could name them, and oddities. */
export const REQUEST_SOURCES: readonly string[] = [...NAMES, ...NAMES.map(U), ...DOM0_SPELLINGS, 'nobody', UNKNOWN_UUID, '@anyvm', '@dispvm:dvm-a'];
