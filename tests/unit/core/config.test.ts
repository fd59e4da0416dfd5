import { describe, expect, it } from 'vitest';
import { parseConfig, DEFAULT_CONFIG_YAML } from '../../../core/config.ts';
import { CarelakeError } from '../../../core/errors.ts';

const origin = { file: '/project/carelake.yml', baseDir: '/project' };
const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const SFTP = `{ host: sftp.example.nhs.uk, username: trust123, privateKeyFile: ./secrets/esr_ed25519, hostKeySha256: "${HOST_KEY}", remoteDir: /outbound, pattern: "GO_*.DAT" }`;

describe('parseConfig', () => {
  it('accepts the embedded default and makes paths absolute against the config folder', () => {
    const config = parseConfig(DEFAULT_CONFIG_YAML, origin);
    expect(config.lake).toBe('/project/lake');
    expect(config.sources.map((s) => [s.name, s.kind, 'path' in s ? s.path : null])).toEqual([
      ['demo-fhir', 'fhir-bulk-files', '/project/demo/fhir'],
      ['demo-hl7', 'hl7v2', '/project/demo/hl7/*.hl7'],
      ['demo-esr', 'esr', '/project/demo/esr'],
    ]);
    // Secrets sit beside the config, never inside the lake with the tokens they protect.
    expect(config.governance.keyFile).toBe('/project/secrets/pseudonym.key');
    expect(config.serve).toEqual({
      host: '127.0.0.1',
      port: 8080,
      auth: { apiKeysFile: '/project/secrets/api-keys.json' },
      limits: { maxRows: 100_000, timeoutMs: 30_000, rateLimit: 120, rateWindowMs: 60_000 },
      session: { idleMinutes: 30, absoluteHours: 8 },
    });
  });

  it('reads an sftp block with its defaults and resolves the key file against the config folder', () => {
    const config = parseConfig(`sources:\n  - { name: esr, kind: esr, sftp: ${SFTP} }`, origin);
    expect(config.sources[0]).toMatchObject({
      kind: 'esr',
      sftp: { port: 22, privateKeyFile: '/project/secrets/esr_ed25519', hostKeySha256: HOST_KEY, stableSeconds: 30, afterDownload: 'leave', concurrency: 2, passphraseEnv: 'CARELAKE_SFTP_PASSPHRASE' },
    });
    expect('path' in config.sources[0]! ? config.sources[0].path : undefined).toBeUndefined();
  });

  it('reads terminology maps with paths against the config folder; the embedded default registers the demo map', () => {
    const config = parseConfig('terminology:\n  maps:\n    - { name: uk-icd10, version: 41.0.0, path: ./trud/der2_map.txt }\n    - { name: lab, version: "3", path: /maps/lab.csv, format: csv }', origin);
    expect(config.terminology).toEqual({
      demoMap: false,
      maps: [
        { name: 'uk-icd10', version: '41.0.0', path: '/project/trud/der2_map.txt' },
        { name: 'lab', version: '3', path: '/maps/lab.csv', format: 'csv' },
      ],
    });
    expect(parseConfig(DEFAULT_CONFIG_YAML, origin).terminology).toEqual({ demoMap: true, maps: [] });
    expect(parseConfig('lake: ./x', origin).terminology).toEqual({ demoMap: false, maps: [] });
  });

  const bad: { description: string; yaml: string; expected: RegExp[] }[] = [
    { description: 'two maps with one name', yaml: 'terminology:\n  maps:\n    - { name: a, version: "1", path: x.csv }\n    - { name: a, version: "2", path: y.csv }', expected: [/terminology\.maps\[1\]\.name 'a' is used twice/] },
    { description: 'a map named like the demo map while the demo map is on', yaml: 'terminology:\n  demoMap: true\n  maps: [{ name: carelake-demo, version: "1", path: x.csv }]', expected: [/'carelake-demo' is used twice/] },
    { description: 'a map without a version', yaml: 'terminology:\n  maps: [{ name: a, path: x.csv }]', expected: [/terminology\.maps\[0\]\.version: expected string, got nothing/] },
    { description: 'a map of an unknown format', yaml: 'terminology:\n  maps: [{ name: a, version: "1", path: x.xml, format: xml }]', expected: [/terminology\.maps\[0\]\.format: expected one of "rf2" \| "conceptmap" \| "csv", got "xml"/] },
    { description: 'an unknown source kind names the key and the kinds', yaml: 'sources:\n  - { name: a, kind: ftp, path: x }', expected: [/sources\[0\]/, /fhir-bulk-files \| hl7v2 \| esr/, /"ftp"/] },
    { description: 'a file source with neither path nor sftp', yaml: 'sources:\n  - { name: a, kind: hl7v2 }', expected: [/sources\[0\]\.path: give exactly one of 'path' \(local files\) or 'sftp'/] },
    { description: 'an esr source with both path and sftp', yaml: `sources:\n  - { name: a, kind: esr, path: x, sftp: ${SFTP} }`, expected: [/sources\[0\]\.path: give exactly one of 'path' \(a local folder\) or 'sftp'/] },
    { description: 'an sftp block without a pinned host key', yaml: `sources:\n  - { name: a, kind: esr, sftp: ${SFTP.replace(/hostKeySha256: [^,]+, /, '')} }`, expected: [/sources\[0\]\.sftp\.hostKeySha256: expected string, got nothing/] },
    { description: 'an sftp host key in the wrong form', yaml: `sources:\n  - { name: a, kind: esr, sftp: ${SFTP.replace(/SHA256:[^"]+/, 'MD5:aa:bb')} }`, expected: [/sftp\.hostKeySha256: SHA256: followed by 43 base64 characters/] },
    { description: 'an unknown afterDownload', yaml: `sources:\n  - { name: a, kind: esr, sftp: ${SFTP.replace('}', ', afterDownload: archive }')} }`, expected: [/sftp\.afterDownload/] },
    { description: 'a port of the wrong type', yaml: 'serve: { port: "eighty" }', expected: [/serve\.port: expected number, got "eighty"/] },
    { description: 'an unknown top-level key', yaml: 'lakes: ./x', expected: [/unknown key 'lakes'/] },
    { description: 'an unknown suppression scheme', yaml: 'governance: { suppression: none }', expected: [/governance\.suppression: expected one of "hes" \| "opensafely" \| "ons", got "none"/] },
    { description: 'a bad source name', yaml: 'sources:\n  - { name: "Bad Name", kind: hl7v2, path: x }', expected: [/sources\[0\]\.name/, /lower-case/] },
    { description: 'every problem is reported at once', yaml: 'lakes: 1\nserve: { port: "x" }', expected: [/2 problems/, /lakes/, /serve\.port/] },
    { description: 'invalid YAML gives the file and line', yaml: 'lake: [\n', expected: [/not valid YAML/] },
    { description: 'a bulk source with patients but GET', yaml: 'sources:\n  - { name: a, kind: fhir-bulk, baseUrl: "https://x/r4", level: patient, patients: [Patient/1] }', expected: [/sources\[0\]\.patients: 'patients' needs method POST/] },
    { description: 'a group-level bulk source with no groupId', yaml: 'sources:\n  - { name: a, kind: fhir-bulk, baseUrl: "https://x/r4", level: group }', expected: [/sources\[0\]\.groupId: level group needs a groupId/] },
    { description: 'a bulk source with a bad since', yaml: 'sources:\n  - { name: a, kind: fhir-bulk, baseUrl: "https://x/r4", since: yesterday }', expected: [/sources\[0\]\.since/] },
    { description: 'an hl7v2 source with an unknown time zone', yaml: 'sources:\n  - { name: a, kind: hl7v2, path: x, timezone: Europe/Londres }', expected: [/sources\[0\]\.timezone: an IANA time zone/] },
    { description: 'an hl7v2 source with an unknown encoding', yaml: 'sources:\n  - { name: a, kind: hl7v2, path: x, encoding: ebcdic }', expected: [/sources\[0\]\.encoding: expected one of "auto" \| "latin1" \| "utf8"/] },
    { description: 'duplicate source names', yaml: 'sources:\n  - { name: a, kind: hl7v2, path: x }\n  - { name: a, kind: esr, path: y }', expected: [/'a' is used by two sources/] },
  ];
  it.each(bad)('$description', ({ yaml, expected }) => {
    let caught: unknown;
    try {
      parseConfig(yaml, origin);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(CarelakeError);
    const error = caught as CarelakeError;
    expect(error.kind).toBe('config');
    for (const pattern of expected) expect(error.render()).toMatch(pattern);
    expect(error.render()).toContain('/project/carelake.yml');
  });

  it('reads JWT sign-in settings, resolving a JWKS file and refusing both or neither JWKS source', () => {
    const config = parseConfig(`serve: { auth: { jwt: { issuer: https://idp.example.nhs.uk, audience: carelake, jwksFile: ./secrets/idp.jwks.json } } }`, origin);
    expect(config.serve.auth.jwt).toEqual({
      issuer: 'https://idp.example.nhs.uk',
      audience: 'carelake',
      jwksFile: '/project/secrets/idp.jwks.json',
      roleClaim: 'carelake_role',
      algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
    });
    for (const jwks of ['', 'jwksFile: a.json, jwksUri: "https://idp.example.nhs.uk/jwks"']) {
      expect(() => parseConfig(`serve: { auth: { jwt: { issuer: i, audience: a${jwks ? `, ${jwks}` : ''} } } }`, origin)).toThrow(/jwksUri or jwksFile/);
    }
  });
});
