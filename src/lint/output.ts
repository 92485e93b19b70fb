/**
 * Lint output formats: `text` (`FILE:LINE:COL: severity: message [rule-id]`),
 * `json`, `sarif` (SARIF 2.1.0) and `github` (workflow annotation commands).
 */
import { LINT_RULES, RULE_IDS, type Diagnostic, type Severity } from './rules.js';

export const FORMATS = ['text', 'json', 'sarif', 'github'] as const;
export type Format = (typeof FORMATS)[number];

export interface Summary {
  errors: number;
  warnings: number;
  notes: number;
}

export function summarise(diags: readonly Diagnostic[]): Summary {
  const n = (s: Severity) => diags.filter((d) => d.severity === s).length;
  return { errors: n('error'), warnings: n('warning'), notes: n('note') };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `FILE:LINE:COL: severity: message [rule-id]` (line and column left out when unknown). */
export function textLine(d: Diagnostic): string {
  const where = d.line === null ? d.file : `${d.file}:${d.line}:${d.column ?? 1}`;
  return `${where}: ${d.severity}: ${d.message} [${d.rule}]`;
}

function text(diags: readonly Diagnostic[]): string {
  if (diags.length === 0) return '';
  const s = summarise(diags);
  const parts = [plural(s.errors, 'error'), plural(s.warnings, 'warning'), ...(s.notes ? [plural(s.notes, 'note')] : [])];
  return diags.map(textLine).join('\n') + `\n${parts.join(', ')}\n`;
}

function json(diags: readonly Diagnostic[]): string {
  return JSON.stringify({ diagnostics: diags, summary: summarise(diags) }, null, 2) + '\n';
}

/** Escape workflow command data (and, for properties, the `:` and `,` separators). */
function ghEscape(s: string, property: boolean): string {
  const out = s.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
  return property ? out.replaceAll(':', '%3A').replaceAll(',', '%2C') : out;
}

const GH_LEVEL: Record<Severity, string> = { error: 'error', warning: 'warning', note: 'notice' };

function github(diags: readonly Diagnostic[]): string {
  return diags
    .map((d) => {
      const props = [`file=${ghEscape(d.file, true)}`];
      if (d.line !== null) props.push(`line=${d.line}`, `col=${d.column ?? 1}`);
      props.push(`title=${ghEscape(d.rule, true)}`);
      return `::${GH_LEVEL[d.severity]} ${props.join(',')}::${ghEscape(d.message, false)}\n`;
    })
    .join('');
}

/** A path as a SARIF artifact URI: relative paths stay relative (to the run's working directory). */
export function artifactUri(file: string): string {
  const encoded = file.split('/').map(encodeURIComponent).join('/');
  return file.startsWith('/') ? `file://${encoded}` : encoded;
}

function sarif(diags: readonly Diagnostic[], version: string): string {
  const index = new Map(RULE_IDS.map((id, i) => [id, i]));
  const doc = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'qrexec-policy lint',
            version,
            informationUri: 'https://www.qubes-os.org/doc/qrexec/',
            rules: LINT_RULES.map((r) => ({
              id: r.id,
              shortDescription: { text: r.description },
              defaultConfiguration: { level: r.severity },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        results: diags.map((d) => ({
          ruleId: d.rule,
          ruleIndex: index.get(d.rule),
          level: d.severity,
          message: { text: d.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: artifactUri(d.file) },
                ...(d.line === null ? {} : { region: { startLine: d.line, startColumn: d.column ?? 1 } }),
              },
            },
          ],
        })),
      },
    ],
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

export function render(format: Format, diags: readonly Diagnostic[], version: string): string {
  switch (format) {
    case 'text':
      return text(diags);
    case 'json':
      return json(diags);
    case 'github':
      return github(diags);
    case 'sarif':
      return sarif(diags, version);
  }
}
