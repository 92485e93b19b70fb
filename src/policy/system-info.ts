/**
 * System information: the qubes the policy talks about (SPEC §5.1).
 * Validation is strict about types and lenient about unknown fields; every
 * problem is reported with the JSON path of the bad value.
 */

export interface Qube {
  readonly name: string;
  readonly type: string;
  readonly tags: readonly string[];
  readonly templateForDispvms: boolean;
  readonly defaultDispvm: string | null;
  readonly powerState: string;
  readonly uuid: string | null;
  readonly guivm: string | null;
  readonly icon: string;
  readonly label: string;
  readonly internal: boolean;
  readonly relayvm: string | null;
  readonly transportRpc: string | null;
}

export class SystemInfoError extends Error {
  override name = 'SystemInfoError';
}

export class SystemInfo {
  readonly qubes: ReadonlyMap<string, Qube>;
  private readonly byUuid: ReadonlyMap<string, Qube>;

  constructor(qubes: Iterable<Qube>) {
    const byName = new Map<string, Qube>();
    const byUuid = new Map<string, Qube>();
    for (const q of qubes) {
      byName.set(q.name, q);
      // Qubes adds a `uuid:U` key per qube in document order: of two qubes sharing a uuid, the later one has it
      if (q.uuid !== null) byUuid.set(q.uuid, q);
    }
    this.qubes = byName;
    this.byUuid = byUuid;
  }

  get(name: string): Qube | undefined {
    return this.qubes.get(name);
  }

  byUuidValue(uuid: string): Qube | undefined {
    return this.byUuid.get(uuid);
  }

  /**
   * The qube a value names, as Qubes looks values up: a name, or a `uuid:U`
   * key derived from the uuids. Anything else (`@adminvm`, `@default`, …)
   * names no qube.
   */
  lookup(text: string): Qube | undefined {
    if (text.startsWith('uuid:')) return this.byUuid.get(text.slice(5)) ?? this.qubes.get(text);
    return this.qubes.get(text);
  }

  /** dom0 (the qube named `dom0`), if the system info lists it. */
  get dom0(): Qube | undefined {
    return this.qubes.get('dom0');
  }

  // Expansions for ask target collection, computed once: a system info never changes,
  // and a daemon answers many asks against the same one.
  private readonly memo = new Map<string, readonly string[]>();

  private memoised(key: string, make: () => string[]): readonly string[] {
    let v = this.memo.get(key);
    if (v === undefined) this.memo.set(key, (v = make()));
    return v;
  }

  /** The qubes expansions walk: Qubes skips every key that starts with `uuid:` (its aliases). */
  private listed(): Qube[] {
    return [...this.qubes.values()].filter((q) => !q.name.startsWith('uuid:'));
  }

  /** Every qube (not the one named dom0 unless `withDom0`), `@dispvm:X` for each disposable template, and `@dispvm`. */
  everything(withDom0: boolean): readonly string[] {
    return this.memoised(withDom0 ? '*' : '@anyvm', () => {
      const out: string[] = [];
      for (const q of this.listed()) {
        if (withDom0 || q.name !== 'dom0') out.push(q.name);
        if (q.templateForDispvms) out.push('@dispvm:' + q.name);
      }
      out.push('@dispvm');
      return out;
    });
  }

  /** Names of the qubes carrying `tag`. */
  withTag(tag: string): readonly string[] {
    return this.memoised('tag\0' + tag, () => this.listed().filter((q) => q.tags.includes(tag)).map((q) => q.name));
  }

  /** Names of the qubes of `type`. */
  ofType(type: string): readonly string[] {
    return this.memoised('type\0' + type, () => this.listed().filter((q) => q.type === type).map((q) => q.name));
  }

  /** `@dispvm:X` for every disposable template X carrying `tag`. */
  dispvmsWithTag(tag: string): readonly string[] {
    return this.memoised('dispvm-tag\0' + tag, () =>
      this.listed().filter((q) => q.templateForDispvms && q.tags.includes(tag)).map((q) => '@dispvm:' + q.name),
    );
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function fail(where: string, expected: string, got: unknown): never {
  throw new SystemInfoError(`system info: ${where}: expected ${expected}, got ${kindOf(got)}`);
}

function optString(d: Record<string, Json>, key: string, where: string, dflt: string): string {
  const v = d[key];
  if (v === undefined) return dflt;
  if (typeof v !== 'string') fail(`${where}.${key}`, 'a string', v);
  return v;
}

function optNullableString(d: Record<string, Json>, key: string, where: string): string | null {
  const v = d[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(`${where}.${key}`, 'a string or null', v);
  return v;
}

/** Build SystemInfo from parsed JSON, or throw SystemInfoError naming the bad value. */
export function systemInfoFromJson(doc: unknown): SystemInfo {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail('document', 'an object', doc);
  const domains = (doc as Record<string, unknown>)['domains'];
  if (domains === undefined) throw new SystemInfoError('system info: "domains" is missing');
  if (domains === null || typeof domains !== 'object' || Array.isArray(domains)) fail('domains', 'an object', domains);
  const qubes: Qube[] = [];
  for (const [name, raw] of Object.entries(domains as Record<string, unknown>)) {
    const where = `domains.${JSON.stringify(name)}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(where, 'an object', raw);
    const d = raw as Record<string, Json>;
    const type = d['type'];
    if (type === undefined) throw new SystemInfoError(`system info: ${where}.type is missing`);
    if (typeof type !== 'string') fail(`${where}.type`, 'a string', type);
    // absent fields take their defaults; present ones (null included) must have the right type
    const tags = d['tags'] === undefined ? [] : d['tags'];
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) fail(`${where}.tags`, 'an array of strings', tags);
    const tfd = d['template_for_dispvms'] === undefined ? false : d['template_for_dispvms'];
    if (typeof tfd !== 'boolean') fail(`${where}.template_for_dispvms`, 'a boolean', tfd);
    const internal = d['internal'] ?? false;
    if (typeof internal !== 'boolean' && typeof internal !== 'string')
      fail(`${where}.internal`, 'a boolean, a string or null', internal);
    qubes.push({
      name,
      type,
      tags: tags as string[],
      templateForDispvms: tfd,
      defaultDispvm: optNullableString(d, 'default_dispvm', where),
      powerState: optString(d, 'power_state', where, 'Halted'),
      uuid: d['uuid'] === undefined ? null : optString(d, 'uuid', where, ''),
      guivm: optNullableString(d, 'guivm', where),
      icon: optString(d, 'icon', where, ''),
      label: optString(d, 'label', where, ''),
      // qubesd sends features as strings: "1" is set, "" is not
      internal: internal === true || (typeof internal === 'string' && internal !== ''),
      relayvm: optNullableString(d, 'relayvm', where),
      transportRpc: optNullableString(d, 'transport_rpc', where),
    });
  }
  return new SystemInfo(qubes);
}

/** Parse system-info JSON text; errors name the problem (never a stack trace). */
export function parseSystemInfo(text: string, source = 'system info'): SystemInfo {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SystemInfoError(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  try {
    return systemInfoFromJson(doc);
  } catch (err) {
    if (err instanceof SystemInfoError && source !== 'system info')
      throw new SystemInfoError(err.message.replace(/^system info/, source));
    throw err;
  }
}
