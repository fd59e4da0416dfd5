// HL7 v2: parse + land throughput and memory, and parse-only speed against @medplum/core's
// Hl7Message.parse on the same messages, in the same process.
//
// Input: the synthetic hospital feed (ADT A01/A03/A08/A11/A40 and ORU R01), tiled until there are
// enough messages, each copy given its own MSH-10 so no copy is a duplicate of another. Two files,
// one five times the other, show whether memory stays flat as a file grows.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Hl7Message } from '@medplum/core';
import { LakeLayout } from '../core/lake.ts';
import { createLogger } from '../core/logger.ts';
import { splitHl7Bytes, splitHl7Stream } from '../pipelines/hl7v2/fileSplitter.ts';
import { parseHl7Message, scanHl7Message } from '../pipelines/hl7v2/message.ts';
import { Ledger } from '../pipelines/ledger/ledger.ts';
import { listSourceFiles, runSource } from '../pipelines/runs/runSource.ts';
import { generateDemoSources } from '../synthetic/generate.ts';
import { fmt, measure } from './measure.ts';

const PATIENTS = 30_000;
const SEED = 11;
const LARGE_MESSAGES = 1_000_000;
const SMALL_MESSAGES = 200_000;
/** Messages held in memory for the parse-only comparison, each parsed PARSE_PASSES times by each parser. */
const PARSE_SAMPLE = 200_000;
const PARSE_PASSES = 2;

/** The generated feed's messages, as text with CR separators. */
async function generatedMessages(dir: string): Promise<string[]> {
  await generateDemoSources({ patients: PATIENTS, seed: SEED, outDir: join(dir, 'src') });
  const hl7 = join(dir, 'src', 'hl7');
  const messages: string[] = [];
  for (const name of (await readdir(hl7)).sort()) {
    for (const unit of splitHl7Bytes(await readFile(join(hl7, name)))) if (unit.kind === 'message') messages.push(unit.text);
  }
  return messages;
}

/** `text` with `suffix` appended to MSH-10, so a tiled copy is a new message. */
function withControlSuffix(text: string, suffix: string): string {
  const end = text.indexOf('\r');
  const msh = (end === -1 ? text : text.slice(0, end)).split('|');
  msh[9] = `${msh[9]}${suffix}`;
  return msh.join('|') + (end === -1 ? '' : text.slice(end));
}

async function writeTiled(path: string, messages: readonly string[], count: number): Promise<number> {
  const out = createWriteStream(path, { encoding: 'latin1' });
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const copy = Math.floor(i / messages.length);
    const text = withControlSuffix(messages[i % messages.length]!, copy === 0 ? '' : `-T${copy}`) + '\r';
    bytes += text.length;
    if (!out.write(text, 'latin1')) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}

async function land(dir: string, name: string, file: string) {
  const layout = new LakeLayout(join(dir, `lake-${name}`));
  const ledger = Ledger.open(layout.ledger);
  const logger = createLogger(null);
  const source = { name: 'bench', kind: 'hl7v2' as const, path: file, encoding: 'auto' as const, timezone: 'Europe/London' };
  try {
    const listed = await listSourceFiles(source, { layout, logger, ledger: () => ledger });
    return await measure(() => runSource(source, listed, { layout, ledger, logger, trigger: 'manual' }));
  } finally {
    ledger.close();
  }
}

function parseRate(label: string, seconds: number, messages: number, bytes: number): string {
  return `${label} ${fmt(messages / seconds / 1000, 0)}k messages/s, ${fmt(bytes / 2 ** 20 / seconds)} MB/s`;
}

export async function benchHl7(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'carelake-bench-hl7-'));
  try {
    const generated = await generatedMessages(dir);
    const small = join(dir, 'small.hl7');
    const large = join(dir, 'large.hl7');
    const smallBytes = await writeTiled(small, generated, SMALL_MESSAGES);
    const largeBytes = await writeTiled(large, generated, LARGE_MESSAGES);
    console.log(`input: ${generated.length} generated messages (${PATIENTS} patients), tiled to ${SMALL_MESSAGES} (${fmt(smallBytes / 2 ** 20)} MB) and ${LARGE_MESSAGES} messages (${fmt(largeBytes / 2 ** 20)} MB)`);

    for (const [name, path, count, bytes] of [['small', small, SMALL_MESSAGES, smallBytes], ['large', large, LARGE_MESSAGES, largeBytes]] as const) {
      const landed = await land(dir, name, path);
      const run = landed.result.run;
      if (run.records_landed !== count) throw new Error(`expected ${count} messages landed, got ${run.records_landed} (${run.records_quarantined} quarantined)`);
      console.log(
        `carelake  parse + land ${name} (${count} messages): ${fmt(count / landed.seconds / 1000, 1)}k messages/s, ${fmt(bytes / 2 ** 20 / landed.seconds)} MB/s (${fmt(landed.seconds, 1)} s), peak RSS ${fmt(landed.peakRssMb, 0)} MB`,
      );
    }

    // Split-only over the large file, from bytes on disk.
    const split = await measure(async () => {
      let n = 0;
      for await (const unit of splitHl7Stream(createReadStream(large, { highWaterMark: 1 << 20 }))) if (unit.kind === 'message') n++;
      return n;
    });
    console.log(parseRate(`carelake  split file into messages:`, split.seconds, split.result, largeBytes));

    // Parse-only: the same in-memory messages through each parser.
    const sample: string[] = [];
    for (let i = 0; i < PARSE_SAMPLE; i++) sample.push(withControlSuffix(generated[i % generated.length]!, `-P${Math.floor(i / generated.length)}`));
    const sampleBytes = sample.reduce((n, m) => n + m.length, 0) * PARSE_PASSES;
    const parsed = PARSE_SAMPLE * PARSE_PASSES;
    let sink = 0;
    const medplum = await measure(async () => {
      for (let pass = 0; pass < PARSE_PASSES; pass++) for (const m of sample) sink += Hl7Message.parse(m).segments.length;
    });
    const ours = await measure(async () => {
      for (let pass = 0; pass < PARSE_PASSES; pass++) for (const m of sample) sink += parseHl7Message(m).segments.length;
    });
    const scan = await measure(async () => {
      for (let pass = 0; pass < PARSE_PASSES; pass++) for (const m of sample) sink += scanHl7Message(m).segmentTexts.length;
    });
    console.log(parseRate(`baseline  @medplum/core Hl7Message.parse:`, medplum.seconds, parsed, sampleBytes));
    console.log(parseRate(`carelake  parseHl7Message (segments, fields):`, ours.seconds, parsed, sampleBytes));
    console.log(parseRate(`carelake  scanHl7Message (checks + MSH, as landing):`, scan.seconds, parsed, sampleBytes));
    console.log(`ratio     parseHl7Message / medplum: ${fmt(medplum.seconds / ours.seconds, 2)}×; scanHl7Message / medplum: ${fmt(medplum.seconds / scan.seconds, 2)}× (checksum ${sink})`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
