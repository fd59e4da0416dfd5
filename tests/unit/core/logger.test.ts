import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../core/logger.ts';

describe('createLogger', () => {
  it('writes JSON lines to carelake.log with identifier-shaped keys redacted at any depth', () => {
    const dir = mkdtempSync(join(tmpdir(), 'carelake-log-'));
    const logger = createLogger(dir, 'info');
    logger.info({ nhs_number: '9434765919', patient: { given_name: 'Jane', postcode: 'LS1 4AP' }, deep: { a: { mrn: 'RX10000001' } }, key: 'secret-key', records: 3 }, 'landed');
    logger.flush();
    const line = JSON.parse(readFileSync(join(dir, 'carelake.log'), 'utf8').trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'landed', records: 3, nhs_number: '[redacted]', patient: { given_name: '[redacted]', postcode: '[redacted]' }, deep: { a: { mrn: '[redacted]' } }, key: '[redacted]' });
    const text = readFileSync(join(dir, 'carelake.log'), 'utf8');
    for (const value of ['9434765919', 'Jane', 'LS1 4AP', 'RX10000001', 'secret-key']) expect(text).not.toContain(value);
  });
});
