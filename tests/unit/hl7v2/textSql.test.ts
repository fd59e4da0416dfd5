// macros/hl7.sql must read HL7 leaves exactly as the TypeScript parser does: hl7_text() is the SQL twin
// of decodeHl7Text (escapes.ts, Latin-1 `\X…\`), with `""` and empty mapped to NULL, and hl7_leaf()
// finds the same leaf as hl7SegmentField (field.ts) whatever delimiters the message declares. Checked on
// a table of tricky cases with non-default delimiters, and on every leaf of every message of the shared
// HL7 v2 corpus, each set loaded into DuckDB and compared in one query.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDb } from '../../../core/duckdb.ts';
import { parseHl7Delimiters, type Hl7Delimiters } from '../../../pipelines/hl7v2/delimiters.ts';
import { decodeHl7Text } from '../../../pipelines/hl7v2/escapes.ts';
import { splitHl7Bytes } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { parseRawHl7Message, type ParsedHl7Message } from '../../../pipelines/hl7v2/message.ts';
import { renderWithProjectMacros } from '../../support/projectMacros.ts';
import { describeWithShared, projectRoot } from '../../sharedData.ts';

/** `|^~\&` style text (MSH-1 then MSH-2) as the parser's delimiters. */
function delimitersOf(text: string): Hl7Delimiters {
  return parseHl7Delimiters(`MSH${text}${text.charAt(0)}`);
}

/** What hl7_text must return for a raw leaf: the decoded text, or null for `""`, empty, or nothing left. */
function expectedText(leaf: string, delimiters: Hl7Delimiters): string | null {
  if (leaf === '""') return null;
  const decoded = decodeHl7Text(leaf, delimiters, 'latin1');
  return decoded === '' ? null : decoded;
}

interface TextCase {
  description: string;
  leaf: string;
  delimiters: string;
}

const STANDARD = '|^~\\&';
const V27 = '|^~\\&#';
// Every delimiter moved: field !, component @, repetition *, escape $, subcomponent %, truncation ?.
const ODD = '!@*$%?';
// Odd delimiters without a truncation character.
const ODD4 = ';:+/=';

const textCases: TextCase[] = [
  { description: 'plain text is returned as it is', leaf: 'SMITH', delimiters: STANDARD },
  { description: 'empty is NULL', leaf: '', delimiters: STANDARD },
  { description: 'the explicit HL7 null "" is NULL', leaf: '""', delimiters: STANDARD },
  { description: 'the explicit null under odd delimiters is NULL too', leaf: '""', delimiters: ODD },
  { description: 'a quoted word is text, not null', leaf: '"x"', delimiters: STANDARD },
  { description: 'the five delimiter escapes', leaf: 'a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f', delimiters: STANDARD },
  { description: 'the five delimiter escapes, odd delimiters', leaf: 'a$F$b$S$c$T$d$R$e$E$f', delimiters: ODD },
  { description: 'a backslash is text when the escape is $', leaf: 'C:\\temp$E$x', delimiters: ODD },
  { description: 'delimiter escapes with a four-character MSH-2', leaf: 'x/F/y/S/z/T/w/R/v/E/', delimiters: ODD4 },
  { description: '\\P\\ is the truncation character', leaf: 'abc\\P\\', delimiters: V27 },
  { description: '\\P\\ is kept raw without a truncation character', leaf: 'abc\\P\\', delimiters: STANDARD },
  { description: '$P$ is ? under odd delimiters', leaf: 'w$P$x', delimiters: ODD },
  { description: 'highlight on and off are dropped', leaf: '\\H\\BOLD\\N\\ text', delimiters: STANDARD },
  { description: 'only highlighting decodes to NULL', leaf: '\\H\\\\N\\', delimiters: STANDARD },
  { description: 'hex bytes are Latin-1 characters', leaf: 'caf\\XE9\\ \\X41424344\\', delimiters: STANDARD },
  { description: 'lower-case hex', leaf: '\\Xc3a9\\', delimiters: STANDARD },
  { description: 'odd-length hex is kept raw', leaf: 'a\\X4\\b', delimiters: STANDARD },
  { description: 'non-hex digits are kept raw', leaf: '\\XZZ\\', delimiters: STANDARD },
  { description: 'an empty hex escape is kept raw', leaf: '\\X\\', delimiters: STANDARD },
  { description: 'hex under odd delimiters', leaf: '$X5C7C$', delimiters: ODD },
  { description: 'a NUL byte in hex', leaf: 'a\\X00\\b', delimiters: STANDARD },
  { description: 'line break', leaf: 'line one\\.br\\line two', delimiters: STANDARD },
  { description: 'line break under odd delimiters', leaf: 'one$.br$two', delimiters: ODD },
  { description: '.br with an argument is kept raw', leaf: 'a\\.br 2\\b', delimiters: STANDARD },
  { description: '.sp without a count is one line break', leaf: 'a\\.sp\\b', delimiters: STANDARD },
  { description: '.sp n is n line breaks', leaf: 'a\\.sp 3\\b', delimiters: STANDARD },
  { description: '.sp +2 (a plus sign) is two line breaks', leaf: 'a\\.sp+2\\b', delimiters: STANDARD },
  { description: '.sp with only a plus sign is one line break', leaf: 'a\\.sp+\\b', delimiters: STANDARD },
  { description: '.sp 0 is nothing', leaf: 'a\\.sp 0\\b', delimiters: STANDARD },
  { description: '.sp with a tab and trailing space around the count', leaf: 'a\\.sp\t4 \\b', delimiters: STANDARD },
  { description: '.sp with a no-break space around the count (JavaScript trims it)', leaf: 'a\\.sp\u00a02\u00a0\\b', delimiters: STANDARD },
  { description: '.sp with four digits is kept raw', leaf: 'a\\.sp 1000\\b', delimiters: STANDARD },
  { description: '.sp with a negative count is kept raw', leaf: 'a\\.sp -1\\b', delimiters: STANDARD },
  { description: '.sp with two plus signs is kept raw', leaf: 'a\\.sp++1\\b', delimiters: STANDARD },
  { description: '.sk n is n spaces', leaf: 'a\\.sk 5\\b', delimiters: STANDARD },
  { description: '.sk without a count is one space', leaf: 'a\\.sk\\b', delimiters: STANDARD },
  { description: '.sk with text is kept raw', leaf: 'a\\.sk x\\b', delimiters: STANDARD },
  { description: '.fi .nf .ce are dropped', leaf: '\\.fi\\a\\.nf\\b\\.ce\\c', delimiters: STANDARD },
  { description: '.fi with an argument is kept raw', leaf: '\\.fi 1\\a', delimiters: STANDARD },
  { description: '.in and .ti with signed counts are dropped', leaf: '\\.in +4\\a\\.ti -2\\b\\.in 3\\c', delimiters: STANDARD },
  { description: '.in with a leading space before the sign is dropped', leaf: '\\.in  -12\\a', delimiters: STANDARD },
  { description: '.in without a count is kept raw', leaf: '\\.in\\a', delimiters: STANDARD },
  { description: '.ti with a trailing space is kept raw', leaf: '\\.ti 2 \\a', delimiters: STANDARD },
  { description: 'an unknown formatting command is kept raw', leaf: '\\.xx\\a', delimiters: STANDARD },
  { description: 'a bare dot is kept raw', leaf: 'a\\.\\b', delimiters: STANDARD },
  { description: 'local \\Z escapes are kept raw', leaf: 'a\\Zfoo\\b', delimiters: STANDARD },
  { description: 'character-set escapes \\C and \\M are kept raw', leaf: '\\C2842\\x\\M2442\\', delimiters: STANDARD },
  { description: 'an unknown escape is kept raw', leaf: 'a\\Q\\b', delimiters: STANDARD },
  { description: 'lower-case f is not \\F\\', leaf: 'a\\f\\b', delimiters: STANDARD },
  { description: 'two escape characters in a row are kept raw', leaf: 'a\\\\b', delimiters: STANDARD },
  { description: 'an unterminated escape is kept raw', leaf: 'a\\F\\b\\S', delimiters: STANDARD },
  { description: 'a lone escape character at the end is kept', leaf: 'trailing\\', delimiters: STANDARD },
  { description: 'a lone escape character at the start pairs with the next one', leaf: '\\a\\F\\', delimiters: STANDARD },
  { description: 'only an escape character', leaf: '\\', delimiters: STANDARD },
  { description: 'decoding does not reread its output: \\E\\F\\E\\ is \\F\\ as text', leaf: '\\E\\F\\E\\', delimiters: STANDARD },
  { description: 'an escaped escape under odd delimiters', leaf: '$E$S$E$', delimiters: ODD },
  { description: 'something that decodes to the null marker is text', leaf: '"\\H\\"', delimiters: STANDARD },
  { description: 'non-ASCII text passes through', leaf: 'Zoë \\S\\ Łukasz', delimiters: STANDARD },
  { description: 'non-ASCII delimiters', leaf: 'a¦b§F§c§S§d', delimiters: '|^~§&' },
  { description: 'many escapes', leaf: '\\F\\'.repeat(50) + 'x' + '\\.br\\'.repeat(20), delimiters: STANDARD },
  { description: 'text that holds the private-use characters the fast decoder marks with', leaf: 'a\uE000\\F\\\uE001b\uE002\\S\\', delimiters: STANDARD },
  { description: 'simple escapes beside a hex escape (the general decoder)', leaf: '\\S\\\\X41\\\\H\\\\Q\\', delimiters: STANDARD },
];

describe('hl7_text: escape decoding in SQL agrees with decodeHl7Text', () => {
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
  });
  afterAll(() => db.close());

  it('decodes every case as the TypeScript parser does', async () => {
    await db.run('CREATE TABLE text_cases (id INTEGER, leaf VARCHAR, delimiters VARCHAR)');
    const appender = await db.rowAppender('text_cases', ['INTEGER', 'VARCHAR', 'VARCHAR']);
    textCases.forEach((c, id) => appender.appendRow([id, c.leaf, c.delimiters]));
    appender.close();
    const rows = await db.all(renderWithProjectMacros('SELECT id, {{ hl7_text("leaf") }} AS decoded FROM text_cases ORDER BY id'));
    const actual = rows.map((row) => ({ description: textCases[Number(row.id)]!.description, decoded: row.decoded }));
    const expected = textCases.map((c) => ({ description: c.description, decoded: expectedText(c.leaf, delimitersOf(c.delimiters)) }));
    expect(actual).toEqual(expected);
  });

  it('decodes every case the same way with the general (lambda) decoder, which rare values take', async () => {
    const rows = await db.all(
      renderWithProjectMacros(`SELECT id, CASE WHEN leaf = '""' THEN NULL WHEN strpos(leaf, delimiters[4]) = 0 THEN nullif(leaf, '') ELSE nullif({{ hl7_unescape_split("leaf") }}, '') END AS decoded FROM text_cases ORDER BY id`),
    );
    expect(rows.map((row) => row.decoded)).toEqual(textCases.map((c) => expectedText(c.leaf, delimitersOf(c.delimiters))));
  });

  it('passes NULL through as NULL', async () => {
    expect(await db.scalar(renderWithProjectMacros(`SELECT {{ hl7_text("NULL::VARCHAR", "'|^~\\\\&'") }}`))).toBeNull();
  });

  it('reads the delimiters from the expression it is given', async () => {
    const sql = renderWithProjectMacros(`SELECT {{ hl7_text("'a$S$b'", "'!@*$%'") }}`);
    expect(await db.scalar(sql)).toBe('a@b');
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listFiles(path);
      return name.endsWith('.md') ? [] : [path];
    });
}

/** The text of MSH-1 and MSH-2 as the raw layer stores it in `delimiters`. */
function delimiterText(d: Hl7Delimiters): string {
  return d.field + d.component + d.repetition + d.escape + d.subcomponent + (d.truncation ?? '');
}

interface CorpusLeaf {
  segment: number;
  field: number;
  repetition: number;
  component: number;
  subcomponent: number;
  leaf: string;
  expected: string | null;
}

/** Every non-empty leaf of a parsed message, HL7-numbered, with the value the parser gives it. */
function leavesOf(message: ParsedHl7Message, segmentBase: number): CorpusLeaf[] {
  const d = message.delimiters;
  const out: CorpusLeaf[] = [];
  message.segments.forEach((segment, index) => {
    for (let field = 1; field < segment.fields.length; field++) {
      // MSH-1 and MSH-2 are the delimiters themselves, not text.
      if (segment.id === 'MSH' && field <= 2) continue;
      segment.fields[field]!.split(d.repetition).forEach((rep, r) =>
        rep.split(d.component).forEach((comp, c) =>
          comp.split(d.subcomponent).forEach((leaf, s) => {
            if (leaf === '') return;
            const position = { segment: segmentBase + index, field, repetition: r + 1, component: c + 1, subcomponent: s + 1 };
            out.push({ ...position, leaf, expected: expectedText(leaf, d) });
          }),
        ),
      );
    }
  });
  return out;
}

describeWithShared('hl7_text and hl7_leaf over every leaf of the shared HL7 v2 corpus', (shared) => {
  const root = join(shared, 'data/hl7v2');
  let db: DuckDb;
  beforeAll(async () => {
    db = await DuckDb.open(':memory:');
  });
  afterAll(() => db.close());

  it('finds every leaf where the parser does, and decodes it the same way', async () => {
    await db.run('CREATE TABLE corpus_segments (segment INTEGER, file VARCHAR, delimiters VARCHAR, fields VARCHAR[])');
    await db.run('CREATE TABLE corpus_leaves (segment INTEGER, field INTEGER, repetition INTEGER, component INTEGER, subcomponent INTEGER, leaf VARCHAR, expected VARCHAR)');
    const segments = await db.rowAppender('corpus_segments', ['INTEGER', 'VARCHAR', 'VARCHAR', 'VARCHAR[]']);
    const leaves = await db.rowAppender('corpus_leaves', ['INTEGER', 'INTEGER', 'INTEGER', 'INTEGER', 'INTEGER', 'VARCHAR', 'VARCHAR']);
    let segmentCount = 0;
    let messages = 0;
    let escaped = 0;
    for (const path of listFiles(root)) {
      const file = relative(root, path);
      for (const unit of splitHl7Bytes(readFileSync(path))) {
        if (unit.kind !== 'message') continue;
        let message: ParsedHl7Message;
        try {
          message = parseRawHl7Message(unit, file);
        } catch {
          continue; // rejected messages are quarantined, never staged (corpus.test.ts checks why)
        }
        messages++;
        const delimiters = delimiterText(message.delimiters);
        for (const leaf of leavesOf(message, segmentCount)) {
          if (leaf.leaf.includes(message.delimiters.escape)) escaped++;
          leaves.appendRow([leaf.segment, leaf.field, leaf.repetition, leaf.component, leaf.subcomponent, leaf.leaf, leaf.expected]);
        }
        for (const segment of message.segments) segments.appendRow([segmentCount++, file, delimiters, segment.fields]);
      }
    }
    segments.close();
    leaves.close();

    const sql = renderWithProjectMacros(`
      SELECT
        count(*)::INTEGER AS leaves,
        count(*) FILTER (WHERE {{ hl7_text('l.leaf', 's.delimiters') }} IS DISTINCT FROM l.expected)::INTEGER AS text_mismatches,
        count(*) FILTER (WHERE strpos(l.leaf, s.delimiters[4]) > 0 AND nullif({{ hl7_unescape_split('l.leaf', 's.delimiters') }}, '') IS DISTINCT FROM l.expected)::INTEGER AS split_mismatches,
        count(*) FILTER (WHERE {{ hl7_leaf('s.fields[l.field + 1]', 'l.repetition', 'l.component', 'l.subcomponent', 's.delimiters') }} IS DISTINCT FROM l.leaf)::INTEGER AS leaf_mismatches,
        count(*) FILTER (WHERE {{ hl7_text(hl7_leaf('s.fields[l.field + 1]', 'l.repetition', 'l.component', 'l.subcomponent', 's.delimiters'), 's.delimiters') }} IS DISTINCT FROM l.expected)::INTEGER AS value_mismatches,
        list(DISTINCT s.file) FILTER (WHERE {{ hl7_text('l.leaf', 's.delimiters') }} IS DISTINCT FROM l.expected) AS files
      FROM corpus_leaves l JOIN corpus_segments s USING (segment)`);
    const [result] = await db.all(sql);
    expect(messages).toBeGreaterThan(200);
    expect(escaped).toBeGreaterThan(20);
    expect(result!.leaves).toBeGreaterThan(20_000);
    expect(result).toMatchObject({ text_mismatches: 0, split_mismatches: 0, leaf_mismatches: 0, value_mismatches: 0 });
  });
});
