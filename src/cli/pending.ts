/**
 * Drop-in commands whose work belongs to later issues. Until then they
 * explain themselves with --help and otherwise fail with exit status 2.
 */
export function pendingMain(name: string, summary: string, argv: readonly string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`usage: ${name} [options]\n\n${summary}\n\nThis command is not yet implemented in this version.\n`);
    return 0;
  }
  process.stderr.write(`${name}: not yet implemented\n`);
  return 2;
}
