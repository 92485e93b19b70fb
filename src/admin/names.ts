/**
 * Which file a Policy Admin API call names. `policy.X+NAME` is
 * `POLICY_DIR/NAME.policy`; `policy.include.X+NAME` is `POLICY_DIR/include/NAME`.
 *
 * Names must match `^[a-z0-9_-]+$`: the loader's own rule for policy file
 * names (SPEC §3) without the dot. Qubes accepts `\w` here, so a client can
 * write `Work.policy`, which the loader then refuses, denying every call on
 * the machine; we refuse the name instead.
 */
import * as path from 'node:path';
import { POLICY_SUFFIX } from '../parser/loader.js';
import { PolicyAdminInvalidFileNameException } from './errors.js';

export const INCLUDE_DIR = 'include';
const NAME = /^[a-z0-9_-]+$/;

export type Area = 'policy' | 'include';

export interface Target {
  area: Area;
  name: string;
  /** The directory the file lives in. */
  dir: string;
  /** Its basename there. */
  base: string;
  path: string;
}

export function isValidName(name: string): boolean {
  return NAME.test(name);
}

export function target(policyDir: string, area: Area, name: string): Target {
  if (!isValidName(name))
    throw new PolicyAdminInvalidFileNameException(
      `invalid policy file name ${JSON.stringify(name)}: use only lower-case letters, digits, _ and -`,
    );
  const dir = area === 'include' ? path.join(policyDir, INCLUDE_DIR) : policyDir;
  const base = area === 'include' ? name : name + POLICY_SUFFIX;
  return { area, name, dir, base, path: path.join(dir, base) };
}

/** How a client names a file: `NAME` or `include/NAME`. */
export function displayName(t: Pick<Target, 'area' | 'name'>): string {
  return t.area === 'include' ? `${INCLUDE_DIR}/${t.name}` : t.name;
}
