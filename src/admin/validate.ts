/**
 * Would the policy still load after a change? The whole policy directory is
 * loaded by the real loader through an overlay of the change, so every
 * file is read in every context that reaches it: an include switched to a
 * format its includer cannot read, an include removed while still used, a
 * syntax error anywhere, a bad file name. Nothing is written before this
 * says yes.
 */
import { nodeFileSource, type FileSource } from '../parser/file-source.js';
import type { PolicyError } from '../parser/errors.js';
import { PolicyLoader } from '../parser/loader.js';
import { overlayFileSource } from './overlay.js';

export interface Change {
  path: string;
  /** New text, or null to remove the file. */
  content: string | null;
}

/** The first load error of the policy directory as it would be after `changes`, or null. */
export function loadErrorAfter(policyDir: string, legacyDir: string, changes: readonly Change[], base: FileSource = nodeFileSource): PolicyError | null {
  const fs = overlayFileSource(
    base,
    changes.map((c) => [c.path, c.content]),
  );
  const loader = new PolicyLoader({ fs, legacyPath: legacyDir });
  loader.loadDirs([policyDir]);
  return loader.result.errors[0] ?? null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decode policy text strictly; on bad bytes, the 1-based line of the first one. */
export function decodePolicyText(bytes: Uint8Array): { text: string } | { badLine: number } {
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] !== 0x0a) continue;
      try {
        utf8.decode(bytes.subarray(start, i));
      } catch {
        return { badLine: line };
      }
      line++;
      start = i + 1;
    }
    /* c8 ignore next 2 -- a newline byte never splits a UTF-8 sequence, so some line fails above */
    return { badLine: line };
  }
}
