// SMART Backend Services client, without a network: loading client keys (JWK, JWKS, PEM; RS384 and
// ES384; permissions; errors that never carry key material) and the signed client assertion's header
// and claims. The token flow against a real server is in tests/integration/fhir-bulk/smartAuth.test.ts.

import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarelakeError } from '../../../core/errors.ts';
import { loadClientKey, type LoadClientKeyOptions } from '../../../pipelines/fhir-bulk/clientKey.ts';
import { SmartBackendAuth, type SmartAuthConfig } from '../../../pipelines/fhir-bulk/smartAuth.ts';

interface TestKey {
  alg: 'RS384' | 'ES384';
  publicKey: CryptoKey;
  privateJwk: JWK;
  publicJwk: JWK;
  pem: string;
  thumbprint: string;
}

let dir: string;
const keys = {} as Record<'RS384' | 'ES384', TestKey>;

async function makeKey(alg: 'RS384' | 'ES384'): Promise<TestKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  return {
    alg,
    publicKey: pair.publicKey,
    privateJwk: await exportJWK(pair.privateKey),
    publicJwk,
    pem: await exportPKCS8(pair.privateKey),
    thumbprint: await calculateJwkThumbprint(publicJwk, 'sha256'),
  };
}

let fileCounter = 0;
function keyFile(content: string | object, mode = 0o600): string {
  const file = join(dir, `key-${++fileCounter}${typeof content === 'string' ? '.pem' : '.json'}`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content), { mode });
  chmodSync(file, mode); // the umask could only have narrowed it; make it exact
  return file;
}

/** Every secret a key file can hold, for "never in an error" checks. */
function secretsOf(key: TestKey): string[] {
  const body = key.pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [String(key.privateJwk.d), ...body.slice(0, 3)];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carelake-smart-key-'));
  keys.RS384 = await makeKey('RS384');
  keys.ES384 = await makeKey('ES384');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = {};

describe('loadClientKey: accepted files', () => {
  const cases: {
    description: string;
    alg: 'RS384' | 'ES384';
    content: (k: TestKey) => string | object;
    options?: Partial<LoadClientKeyOptions>;
    expectedKid: (k: TestKey) => string;
  }[] = [
    { description: 'RS384 private JWK with its own kid and alg', alg: 'RS384', content: (k) => ({ ...k.privateJwk, kid: 'rsa-1', alg: 'RS384' }), expectedKid: () => 'rsa-1' },
    { description: 'ES384 private JWK with its own kid and alg', alg: 'ES384', content: (k) => ({ ...k.privateJwk, kid: 'ec-1', alg: 'ES384', use: 'sig' }), expectedKid: () => 'ec-1' },
    { description: 'a JWK without kid takes the configured kid', alg: 'ES384', content: (k) => k.privateJwk, options: { kid: 'from-config' }, expectedKid: () => 'from-config' },
    { description: 'a JWK without kid or alg gets the RFC 7638 thumbprint and the alg of its key type', alg: 'RS384', content: (k) => k.privateJwk, expectedKid: (k) => k.thumbprint },
    {
      description: 'a JWKS with one private key among public ones picks the private key',
      alg: 'ES384',
      content: (k) => ({ keys: [{ ...keys.RS384.publicJwk, kid: 'other' }, { ...k.privateJwk, kid: 'mine' }, { ...k.publicJwk, kid: 'mine-pub' }] }),
      expectedKid: () => 'mine',
    },
    {
      description: 'a JWKS with two private keys picks the one named by kid',
      alg: 'RS384',
      content: (k) => ({ keys: [{ ...keys.ES384.privateJwk, kid: 'ec' }, { ...k.privateJwk, kid: 'rsa' }] }),
      options: { kid: 'rsa' },
      expectedKid: () => 'rsa',
    },
    { description: 'RS384 PKCS#8 PEM gets the thumbprint as kid', alg: 'RS384', content: (k) => k.pem, expectedKid: (k) => k.thumbprint },
    { description: 'ES384 PKCS#8 PEM takes the configured kid', alg: 'ES384', content: (k) => k.pem, options: { kid: 'pem-kid', algorithm: 'ES384' }, expectedKid: () => 'pem-kid' },
    {
      description: 'an encrypted PKCS#8 PEM with its passphrase from the environment',
      alg: 'RS384',
      content: (k) => encryptPem(k.pem, 'correct horse'),
      options: { passphraseEnv: 'SMART_KEY_PASS', env: { SMART_KEY_PASS: 'correct horse' } },
      expectedKid: (k) => k.thumbprint,
    },
  ];

  it.each(cases)('$description', async ({ alg, content, options, expectedKid }) => {
    const key = keys[alg];
    const loaded = await loadClientKey(keyFile(content(key)), { env, ...options });
    expect(loaded.alg).toBe(alg);
    expect(loaded.kid).toBe(expectedKid(key));
    // The loaded key signs assertions the public key verifies.
    const auth = await SmartBackendAuth.create('https://fhir.example.nhs.uk', config({ tokenEndpoint: 'https://auth.example.nhs.uk/token' }), { key: loaded });
    const assertion = await auth.clientAssertion();
    await expect(jwtVerify(assertion, key.publicKey)).resolves.toBeDefined();
  });
});

describe('loadClientKey: refused files', () => {
  const cases: {
    description: string;
    content: () => string | object;
    mode?: number;
    options?: Partial<LoadClientKeyOptions>;
    expected: RegExp[];
  }[] = [
    { description: 'a 0644 key file, like ssh', content: () => keys.RS384.privateJwk, mode: 0o644, expected: [/accessible by group or others \(mode 0644\)/, /chmod 600/] },
    { description: 'a 0640 key file', content: () => keys.ES384.pem, mode: 0o640, expected: [/mode 0640/] },
    { description: 'a public JWK', content: () => keys.RS384.publicJwk, expected: [/public key \(no "d"\)/] },
    { description: 'a JWKS with no private key', content: () => ({ keys: [keys.RS384.publicJwk] }), expected: [/holds no private key/] },
    {
      description: 'a JWKS with two private keys and no kid',
      content: () => ({ keys: [{ ...keys.RS384.privateJwk, kid: 'a' }, { ...keys.ES384.privateJwk, kid: 'b' }] }),
      expected: [/2 private keys \(kids "a", "b"\)/, /set kid/],
    },
    {
      description: 'a JWKS without the configured kid',
      content: () => ({ keys: [{ ...keys.RS384.privateJwk, kid: 'a' }] }),
      options: { kid: 'z' },
      expected: [/no key with kid "z" \(it has kids "a"\)/],
    },
    { description: 'a JWK whose kid differs from the configured kid', content: () => ({ ...keys.RS384.privateJwk, kid: 'a' }), options: { kid: 'b' }, expected: [/kid "a" but the configuration says kid "b"/] },
    { description: 'a JWK whose alg is not the SMART one for its type', content: () => ({ ...keys.RS384.privateJwk, alg: 'RS256' }), expected: [/"alg": "RS256"/, /needs RS384/] },
    { description: 'a JWK for encryption, not signing', content: () => ({ ...keys.RS384.privateJwk, use: 'enc' }), expected: [/"use": "enc"/] },
    { description: 'an RSA key when ES384 is configured', content: () => keys.RS384.privateJwk, options: { algorithm: 'ES384' }, expected: [/key for RS384, but the configuration asks for ES384/] },
    { description: 'an EC P-256 JWK', content: () => p256.jwk, expected: [/kty "EC" crv "P-256"/, /only RSA \(RS384\) and EC P-384 \(ES384\)/] },
    { description: 'an EC P-256 PEM', content: () => p256.pem, expected: [/prime256v1/, /only RSA/] },
    { description: 'a 1024-bit RSA PEM', content: () => rsa1024, expected: [/1024-bit RSA key; RS384 needs at least 2048 bits/] },
    { description: 'a PEM public key', content: () => spki, expected: [/PEM "PUBLIC KEY" block, not a private key/] },
    { description: 'broken JSON holding key material', content: () => `{"kty":"RSA","d":"${String(keys.RS384.privateJwk.d)}",`, expected: [/is not valid JSON \(/] },
    { description: 'a JSON object that is not a JWK', content: () => ({ hello: 'world' }), expected: [/not a JWK \(field kty/] },
    { description: 'neither JSON nor PEM', content: () => 'ssh-rsa AAAA', expected: [/neither a JWK\/JWKS \(JSON\) nor a PEM/] },
    { description: 'an encrypted PEM without a passphrase variable', content: () => encryptPem(keys.ES384.pem, 'pw'), expected: [/encrypted and no passphrase variable/] },
    { description: 'an encrypted PEM whose variable is unset', content: () => encryptPem(keys.ES384.pem, 'pw'), options: { passphraseEnv: 'NOPE', env: {} }, expected: [/variable NOPE is not set/] },
    { description: 'an encrypted PEM with the wrong passphrase', content: () => encryptPem(keys.ES384.pem, 'pw'), options: { passphraseEnv: 'P', env: { P: 'wrong' } }, expected: [/could not be read as a PEM private key \(is the passphrase right\?\)/] },
    { description: 'a corrupt PEM', content: () => keys.RS384.pem.replace(/[A-Za-z]{10}/, '!!!!!!!!!!'), expected: [/could not be read as a PEM private key/] },
  ];

  it.each(cases)('$description', async ({ content, mode, options, expected }) => {
    const file = keyFile(content(), mode);
    const error = await loadClientKey(file, { env, ...options }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CarelakeError);
    const err = error as CarelakeError;
    expect(err.code).toBe('smart.key');
    expect(err.message).toContain(file);
    for (const pattern of expected) expect(err.render()).toMatch(pattern);
    const shown = `${err.render()} ${JSON.stringify(err)} ${String(err.cause ?? '')}`;
    for (const secret of [...secretsOf(keys.RS384), ...secretsOf(keys.ES384)]) expect(shown).not.toContain(secret);
  });

  it('names a missing file', async () => {
    const missing = join(dir, 'absent.json');
    await expect(loadClientKey(missing, { env })).rejects.toThrow(`Cannot read the SMART client key ${missing}: it does not exist`);
  });
});

describe('client assertion', () => {
  const cases = [
    { description: 'RS384', alg: 'RS384' as const },
    { description: 'ES384', alg: 'ES384' as const },
  ];

  it.each(cases)('$description: header and claims as SMART Backend Services requires, jti unique', async ({ alg }) => {
    const key = keys[alg];
    const loaded = await loadClientKey(keyFile({ ...key.privateJwk, kid: `kid-${alg}` }), { env });
    const nowMs = Date.UTC(2025, 0, 15, 9, 30, 0, 500);
    const tokenEndpoint = 'https://auth.example.nhs.uk/oauth2/token';
    const auth = await SmartBackendAuth.create('https://fhir.example.nhs.uk/R4', config({ tokenEndpoint }), { key: loaded, now: () => nowMs });
    expect(auth.tokenEndpoint).toBe(tokenEndpoint);

    const assertions = await Promise.all(Array.from({ length: 50 }, () => auth.clientAssertion()));
    const first = assertions[0]!;
    expect(decodeProtectedHeader(first)).toEqual({ alg, kid: `kid-${alg}`, typ: 'JWT' });
    const claims = decodeJwt(first);
    expect(claims).toMatchObject({ iss: 'client-1', sub: 'client-1', aud: tokenEndpoint, iat: Math.floor(nowMs / 1000) });
    expect(claims.exp! - claims.iat!).toBeGreaterThan(0);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);
    await expect(jwtVerify(first, key.publicKey, { currentDate: new Date(nowMs), algorithms: [alg] })).resolves.toBeDefined();

    const jtis = assertions.map((a) => decodeJwt(a).jti);
    expect(jtis.every((j) => typeof j === 'string' && j.length > 0)).toBe(true);
    expect(new Set(jtis).size).toBe(assertions.length);
  });
});

describe('SmartBackendAuth.create: configuration checks before any request', () => {
  const cases: { description: string; overrides: Partial<SmartAuthConfig>; expected: RegExp }[] = [
    { description: 'algorithm that disagrees with the key', overrides: { algorithm: 'ES384' }, expected: /asks for ES384 but the client key .* is an RS384 key/ },
    { description: 'kid that disagrees with the key', overrides: { kid: 'other' }, expected: /kid "other" but the client key .* has kid "rsa"/ },
    { description: 'plain http to a remote token endpoint', overrides: { tokenEndpoint: 'http://auth.example.nhs.uk/token' }, expected: /does not use https/ },
    { description: 'a token endpoint that is not a URL', overrides: { tokenEndpoint: 'auth/token' }, expected: /not an absolute URL/ },
    { description: 'an empty scope', overrides: { scope: ' ' }, expected: /scope is empty/ },
  ];

  it.each(cases)('$description', async ({ overrides, expected }) => {
    const loaded = await loadClientKey(keyFile({ ...keys.RS384.privateJwk, kid: 'rsa' }), { env });
    const neverFetch: typeof fetch = () => Promise.reject(new Error('no request expected'));
    const error = await SmartBackendAuth.create('https://fhir.example.nhs.uk', config({ tokenEndpoint: 'https://auth.example.nhs.uk/token', ...overrides }), {
      key: loaded,
      fetch: neverFetch,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CarelakeError);
    expect((error as CarelakeError).code).toBe('smart.config');
    expect((error as CarelakeError).render()).toMatch(expected);
  });

  it('allows plain http to loopback only', async () => {
    const loaded = await loadClientKey(keyFile(keys.ES384.privateJwk), { env });
    for (const tokenEndpoint of ['http://127.0.0.1:8080/token', 'http://localhost/token', 'http://[::1]:9/token']) {
      const auth = await SmartBackendAuth.create('http://127.0.0.1:8080', config({ tokenEndpoint }), { key: loaded });
      expect(auth.tokenEndpoint).toBe(tokenEndpoint);
    }
  });
});

// ---------------------------------------------------------------------------------------------

function config(overrides: Partial<SmartAuthConfig> = {}): SmartAuthConfig {
  return { clientId: 'client-1', privateKeyFile: '/keys/client.json', scope: 'system/*.rs', ...overrides };
}

/** Encrypted with Node's own crypto, so the fixture does not depend on the code under test. */
function encryptPem(pkcs8: string, passphrase: string): string {
  return createPrivateKey(pkcs8).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string;
}

const p256 = (() => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { jwk: privateKey.export({ format: 'jwk' }), pem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
})();

const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

const spki = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
