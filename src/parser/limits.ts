/**
 * Explicit caps on what the tool reads (SPEC §10: bounded memory, and bad
 * input never crashes). Each is far above anything a real Qubes system
 * holds; going past one is a load error that names the file, so everything
 * is denied until it is fixed, like any other policy error.
 */

/** Longest policy line, in characters (real lines are under 200). */
export const MAX_LINE_LENGTH = 64 * 1024;
/** Largest single policy file, in bytes (a 10,000-rule policy is about 400 KiB). */
export const MAX_FILE_SIZE = 16 * 1024 * 1024;
/** Most policy files read for one policy (top-level, included and legacy files together). */
export const MAX_POLICY_FILES = 10_000;
/** More nested includes than this is an error (the reference recurses until it crashes). */
export const MAX_INCLUDE_DEPTH = 32;
/** Largest system-info document, in bytes (thousands of qubes fit easily). */
export const MAX_SYSTEM_INFO_SIZE = 64 * 1024 * 1024;
/** Longest request value (source, target, SERVICE+ARG), in characters. */
export const MAX_REQUEST_FIELD = 1024;
