// Small helpers shared by the HL7 v2 tests: byte input from strings, re-chunking, collecting streams.

import { Buffer } from 'node:buffer';
import type { RawHl7Unit } from '../../../pipelines/hl7v2/fileSplitter.ts';
import { splitHl7Stream } from '../../../pipelines/hl7v2/fileSplitter.ts';

/** Bytes of a test string, one byte per character (so `\x0b` and `\xef` are single bytes). */
export function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'latin1');
}

/** Re-chunks bytes into pieces of `size`, as a read stream would. */
export async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, Math.min(at + size, data.length));
}

export async function splitAll(data: Uint8Array, chunkSize = 65_536): Promise<RawHl7Unit[]> {
  const units: RawHl7Unit[] = [];
  for await (const unit of splitHl7Stream(chunked(data, chunkSize))) units.push(unit);
  return units;
}
