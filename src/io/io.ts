/**
 * What a command's front end talks to: its two output streams and its
 * environment. Commands take an Io instead of touching `process`, so tests
 * run them in process and read what they said.
 */
export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export const defaultIo = (): Io => ({
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  env: process.env,
});
