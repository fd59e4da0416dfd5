// SNOMED CT identifiers: Verhoeff check digit and concept partition (transforms/terminology/sctid.ts).

import { describe, expect, it } from 'vitest';
import { isConceptSctid, verhoeffValid } from '../../../transforms/terminology/sctid.ts';

describe('the SCTID check itself', () => {
  it('accepts known concept ids and rejects single-digit and transposition errors', () => {
    for (const id of ['138875005', '404684003', '195967001', '386661006', '999002271000000101']) expect(isConceptSctid(id), id).toBe(true);
    expect(isConceptSctid('195967004')).toBe(false); // wrong check digit
    expect(isConceptSctid('159967001')).toBe(false); // adjacent digits swapped
    expect(isConceptSctid('900000000000003001')).toBe(true);
    expect(isConceptSctid('900000000000013009')).toBe(true);
  });

  it('rejects description and relationship partitions', () => {
    // A valid Verhoeff number in partition 01 (description) or 02 (relationship) is not a concept id.
    for (const [payload, partition] of [['10000', '01'], ['10000', '02'], ['10000', '11']] as const) {
      const id = [...'0123456789'].map((c) => `${payload}${partition}${c}`).find(verhoeffValid)!;
      expect(isConceptSctid(id), id).toBe(false);
    }
  });
});
