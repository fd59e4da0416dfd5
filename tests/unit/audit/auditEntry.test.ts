import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSince } from '../../../cli/commands/audit.ts';
import {
  canonicalJson,
  checkEntryIntegrity,
  entryHash,
  GENESIS_HASH,
  parseEntryLine,
  serialiseEntry,
  type AuditEntry,
  type AuditEntryFields,
} from '../../../warehouse/audit/auditEntry.ts';

const fields: AuditEntryFields = {
  seq: 1,
  at: '2026-03-01T09:15:00.123Z',
  principal: 'key:ab12cd',
  role: 'analyst',
  endpoint: 'POST /api/query',
  query: 'select count(*) from marts.encounters',
  reportId: null,
  params: { limit: 10, format: 'json' },
  rows: 1,
  durationMs: 12.5,
  outcome: 'ok',
  status: 200,
  error: null,
  requestId: 'req-1',
  release: '20260301T090000000Z',
  prev: GENESIS_HASH,
};

describe('canonical JSON', () => {
  it('sorts keys at every depth, keeps array order, and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('sorts by UTF-16 code unit, as RFC 8785 does', () => {
    expect(canonicalJson({ 'é': 1, z: 2, Z: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"Z":3,"z":2,"é":1}');
  });

  it('serialises numbers and strings the ECMAScript way', () => {
    expect(canonicalJson({ a: 1e21, b: 0.1, c: -0, d: 'line\nbreak "q"' })).toBe('{"a":1e+21,"b":0.1,"c":0,"d":"line\\nbreak \\"q\\""}');
  });
});

describe('entry hash', () => {
  it('is the SHA-256 of the canonical entry without its hash, whatever order the keys come in', () => {
    const expected = createHash('sha256').update(canonicalJson(fields)).digest('hex');
    expect(entryHash(fields)).toBe(expected);
    const shuffled = Object.fromEntries(Object.entries(fields).reverse()) as AuditEntryFields;
    expect(entryHash(shuffled)).toBe(expected);
    expect(entryHash({ ...fields, params: { format: 'json', limit: 10 } })).toBe(expected);
    // The hash field itself never feeds the hash.
    expect(entryHash({ ...fields, hash: 'f'.repeat(64) })).toBe(expected);
  });

  it('is fixed for a known entry (a change to the canonical form is a breaking change)', () => {
    const known = { seq: 1, at: '2026-01-01T00:00:00.000Z', principal: 'cli:ig', role: null, endpoint: 'cli query', query: null, reportId: null, params: null, rows: null, durationMs: 0, outcome: 'ok', status: 0, error: null, requestId: 'r', release: null, prev: GENESIS_HASH } as const;
    const text =
      '{"at":"2026-01-01T00:00:00.000Z","durationMs":0,"endpoint":"cli query","error":null,"outcome":"ok","params":null,"prev":"' +
      GENESIS_HASH +
      '","principal":"cli:ig","query":null,"release":null,"reportId":null,"requestId":"r","role":null,"rows":null,"seq":1,"status":0}';
    expect(canonicalJson(known)).toBe(text);
    expect(entryHash(known)).toBe(createHash('sha256').update(text).digest('hex'));
  });

  it('changes when any field changes', () => {
    const base = entryHash(fields);
    for (const change of [{ rows: 2 }, { principal: 'key:ab12ce' }, { prev: 'a'.repeat(64) }, { params: { limit: 11, format: 'json' } }, { at: '2026-03-01T09:15:00.124Z' }]) {
      expect(entryHash({ ...fields, ...change })).not.toBe(base);
    }
  });
});

describe('entry lines', () => {
  const entry: AuditEntry = { ...fields, hash: entryHash(fields) };

  it('round-trip: a written line parses back to the same entry and passes its integrity checks', () => {
    const line = serialiseEntry(entry);
    const parsed = parseEntryLine(line);
    expect('entry' in parsed && parsed.entry).toEqual(entry);
    expect(checkEntryIntegrity(entry, line)).toBeNull();
  });

  it('flags an edited value, a reformatted line and a duplicated key', () => {
    const line = serialiseEntry(entry);
    const edited = line.replace('"rows":1', '"rows":100');
    const parsedEdit = parseEntryLine(edited);
    expect('entry' in parsedEdit && checkEntryIntegrity(parsedEdit.entry, edited)).toMatch(/does not match its hash/);

    const spaced = JSON.stringify(JSON.parse(line), null, 1).replace(/\n/g, '');
    const parsedSpaced = parseEntryLine(spaced);
    expect('entry' in parsedSpaced && checkEntryIntegrity(parsedSpaced.entry, spaced)).toMatch(/exact form/);

    // DuckDB would read the first "rows", JavaScript the last: refused.
    const duplicated = line.replace('"rows":1', '"rows":999,"rows":1');
    const parsedDup = parseEntryLine(duplicated);
    expect('entry' in parsedDup && checkEntryIntegrity(parsedDup.entry, duplicated)).toMatch(/exact form/);
  });

  it('reports schema problems by field, without the value', () => {
    const bad = serialiseEntry(entry).replace('"outcome":"ok"', '"outcome":"secret-value"');
    const parsed = parseEntryLine(bad);
    expect('problem' in parsed && parsed.problem).toMatch(/field outcome/);
    expect('problem' in parsed && parsed.problem).not.toMatch(/secret-value/);
    expect(parseEntryLine('{"seq":1')).toEqual({ problem: 'is not valid JSON' });
    expect(parseEntryLine('')).toEqual({ problem: 'is empty' });
  });
});

describe('parseSince', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  it('reads spans back from now', () => {
    expect(parseSince('24h', now).toISOString()).toBe('2026-03-09T12:00:00.000Z');
    expect(parseSince('7d', now).toISOString()).toBe('2026-03-03T12:00:00.000Z');
    expect(parseSince('30m', now).toISOString()).toBe('2026-03-10T11:30:00.000Z');
    expect(parseSince('2w', now).toISOString()).toBe('2026-02-24T12:00:00.000Z');
  });
  it('reads ISO dates and date-times', () => {
    expect(parseSince('2026-03-01', now).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(parseSince('2026-03-01T09:30Z', now).toISOString()).toBe('2026-03-01T09:30:00.000Z');
    expect(parseSince('2026-03-01T09:30:00+01:00', now).toISOString()).toBe('2026-03-01T08:30:00.000Z');
  });
  it('refuses anything else as a config error', () => {
    for (const bad of ['yesterday', '24', '2026-13-45', '5y', '']) expect(() => parseSince(bad, now)).toThrow(/--since/);
  });
});

describe('params with integer-like keys', () => {
  it('are written and hashed in code-unit order, and survive the round trip', () => {
    const withKeys: AuditEntryFields = { ...fields, params: { '10': 'a', '9': 'b', b: { '2': 1, '10': 2 } } };
    const entry: AuditEntry = { ...withKeys, hash: entryHash(withKeys) };
    const line = serialiseEntry(entry);
    expect(line).toContain('"params":{"10":"a","9":"b","b":{"10":2,"2":1}}');
    const parsed = parseEntryLine(line);
    expect('entry' in parsed && checkEntryIntegrity(parsed.entry, line)).toBeNull();
  });
});
