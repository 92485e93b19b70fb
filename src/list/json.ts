/**
 * `list --format json`: one document, `{"version": 1, "rows": [...]}`, one
 * row per line. Each row's `decision` is exactly the object `eval --json`
 * prints for the same request (docs/list.md documents the format).
 */
import { decisionToJson, type DecisionJson } from '../render/json.js';
import { ruleDisplay } from '../render/text.js';
import type { BufferedOut } from './output.js';
import type { Row } from './rows.js';

export const LIST_JSON_VERSION = 1;

export interface RowJson {
  source: string;
  target: string;
  /** `null`: any service no rule names. */
  service: string | null;
  /** `+ARG` named by the policy; `null`: any argument it does not name. */
  argument: string | null;
  /** The SERVICE[+ARG] evaluated: `qrexec-policy eval SOURCE TARGET REQUEST` answers `decision`. */
  request: string;
  decision: DecisionJson;
  /** With --explain only: the rules passed over before the deciding one. */
  passed_over?: { file: string; line: number | null; rule: string; reason: string }[];
}

export function rowToJson(row: Row): RowJson {
  const o: RowJson = {
    source: row.source,
    target: row.target,
    service: row.entry.service,
    argument: row.entry.argument,
    request: row.entry.request,
    decision: decisionToJson(row.decision),
  };
  if (row.passedOver !== null)
    o.passed_over = row.passedOver.map((p) => ({ file: p.rule.file, line: p.rule.line, rule: ruleDisplay(p.rule), reason: p.reason }));
  return o;
}

/** Write the document; resolves to the number of rows. */
export async function writeJson(rows: Iterable<Row>, out: BufferedOut): Promise<number> {
  out.write(`{"version":${LIST_JSON_VERSION},"rows":[`);
  let n = 0;
  for (const row of rows) {
    out.write((n++ ? ',\n' : '\n') + JSON.stringify(rowToJson(row)));
    if (out.full) await out.flush();
  }
  out.write(n ? '\n]}\n' : ']}\n');
  await out.flush();
  return n;
}
