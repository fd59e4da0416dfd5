// The private key a SMART Backend Services client signs its assertions with, loaded from a file.
//
// Accepted files:
// - a private JWK (JSON object with `d`): `alg` and `kid` are read from it when present;
// - a JWKS (`{ "keys": [...] }`): the key whose `kid` matches the configured `kid`, or else the only
//   private key in the set;
// - a PEM private key (PKCS#8 `PRIVATE KEY` or `ENCRYPTED PRIVATE KEY`; OpenSSL's traditional
//   `RSA PRIVATE KEY` / `EC PRIVATE KEY` also load). A PEM carries no `alg` or `kid`.
//
// The algorithm follows from the key type: RSA (at least 2048 bits) → RS384, EC P-384 → ES384. A
// configured algorithm must agree with the key. The `kid` is, in order: the JWK's own `kid`, the
// configured `kid`, or else the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key — the
// value to register with the server alongside the public key when it was not given one.
//
// Like ssh, a key file readable or writable by group or others is refused (POSIX only). Errors name
// the file and never carry key material: parser messages (which may quote the file) are not passed on.

import { createPrivateKey, type KeyObject, type webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import { CarelakeError, fileSystemError } from '../../core/errors.ts';
import { assertPrivateFile } from '../../core/privateFile.ts';

export type ClientKeyAlgorithm = 'RS384' | 'ES384';

export interface ClientKey {
  key: webcrypto.CryptoKey | KeyObject;
  kid: string;
  alg: ClientKeyAlgorithm;
}

export interface LoadClientKeyOptions {
  kid?: string;
  algorithm?: ClientKeyAlgorithm;
  /** Name of the environment variable holding the passphrase of an encrypted PEM key. */
  passphraseEnv?: string;
  env: Record<string, string | undefined>;
}

const MIN_RSA_BITS = 2048;

/** Only the members we inspect; the rest of the JWK is handed to jose as read. */
const jwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string().min(1).optional(),
  alg: z.string().optional(),
  crv: z.string().optional(),
  use: z.string().optional(),
  d: z.string().optional(),
});
type ParsedJwk = z.infer<typeof jwkSchema>;

const jwksSchema = z.object({ keys: z.array(z.unknown()) });

function keyError(file: string, message: string, hint?: string, cause?: unknown): CarelakeError {
  return new CarelakeError({ code: 'smart.key', kind: 'config', message, location: { file }, hint, cause });
}

export async function loadClientKey(file: string, options: LoadClientKeyOptions): Promise<ClientKey> {
  await assertPrivateFile(file, 'SMART client key', 'smart.key');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw fileSystemError('read the SMART client key', file, err);
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) return loadJsonKey(file, trimmed, options);
  if (trimmed.includes('-----BEGIN ')) return loadPemKey(file, trimmed, options);
  throw keyError(
    file,
    `SMART client key file ${file} is neither a JWK/JWKS (JSON) nor a PEM private key`,
    'provide a private JWK, a JWKS holding the private key, or a PKCS#8 PEM',
  );
}

// ---------------------------------------------------------------------------------------------
// JWK / JWKS

async function loadJsonKey(file: string, text: string, options: LoadClientKeyOptions): Promise<ClientKey> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // The parser's message quotes the file's text, which is key material: not passed on.
    throw keyError(file, `SMART client key file ${file} is not valid JSON`);
  }
  const jwks = jwksSchema.safeParse(json);
  const { jwk, where } = jwks.success ? pickFromSet(file, jwks.data.keys, options.kid) : { jwk: parseJwk(file, json, 'the JWK'), where: 'the JWK' };
  if (jwk.d === undefined) {
    throw keyError(file, `SMART client key file ${file}: ${where} is a public key (no "d"); the client needs its private key`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw keyError(file, `SMART client key file ${file}: ${where} has "use": "${jwk.use}", but the client signs with it ("sig")`);
  }
  if (!jwks.success && options.kid !== undefined && jwk.kid !== undefined && jwk.kid !== options.kid) {
    throw keyError(
      file,
      `SMART client key file ${file}: the JWK has kid "${jwk.kid}" but the configuration says kid "${options.kid}"`,
      'make the configured kid match the key registered with the server, or remove it',
    );
  }

  const fromType = algorithmForJwk(jwk);
  if (fromType === undefined) {
    throw keyError(
      file,
      `SMART client key file ${file}: ${where} is kty "${jwk.kty}"${jwk.crv ? ` crv "${jwk.crv}"` : ''}; only RSA (RS384) and EC P-384 (ES384) keys are supported`,
    );
  }
  if (jwk.alg !== undefined && jwk.alg !== fromType) {
    throw keyError(
      file,
      `SMART client key file ${file}: ${where} has "alg": "${jwk.alg}", but SMART Backend Services with this key type needs ${fromType}`,
    );
  }
  const alg = agreeAlgorithm(file, fromType, options.algorithm);

  let key: webcrypto.CryptoKey;
  try {
    // A private JWK imports as a CryptoKey (never a Uint8Array, which only "oct" keys give).
    key = (await importJWK({ ...jwk, alg, ext: false } as JWK, alg)) as webcrypto.CryptoKey;
  } catch (err) {
    throw keyError(file, `SMART client key file ${file}: ${where} could not be imported as an ${alg} private key (${errorTag(err)})`);
  }
  checkRsaSize(file, key);
  const kid = jwk.kid ?? options.kid ?? (await thumbprint(file, jwk));
  return { key, kid, alg };
}

function parseJwk(file: string, value: unknown, where: string): ParsedJwk {
  const result = jwkSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || '(top level)';
  // Zod's messages name the expected type only, never the value; still, keep to the field name.
  throw keyError(file, `SMART client key file ${file}: ${where} is not a JWK (field ${field}: ${issue.code.replaceAll('_', ' ')})`);
}

function pickFromSet(file: string, keys: unknown[], kid: string | undefined): { jwk: ParsedJwk; where: string } {
  const parsed = keys.map((k, i) => parseJwk(file, k, `keys[${i}]`));
  if (kid !== undefined) {
    const index = parsed.findIndex((k) => k.kid === kid);
    if (index < 0) {
      throw keyError(
        file,
        `SMART client key file ${file}: the JWKS has no key with kid "${kid}" (it has ${describeKids(parsed)})`,
        'set kid to one of the keys in the set',
      );
    }
    return { jwk: parsed[index]!, where: `the key with kid "${kid}"` };
  }
  const privateKeys = parsed.filter((k) => k.d !== undefined);
  if (privateKeys.length === 1) {
    const only = privateKeys[0]!;
    return { jwk: only, where: only.kid ? `the key with kid "${only.kid}"` : 'the private key' };
  }
  throw keyError(
    file,
    privateKeys.length === 0
      ? `SMART client key file ${file}: the JWKS holds no private key (${parsed.length} public key(s)); the client needs its private key`
      : `SMART client key file ${file}: the JWKS holds ${privateKeys.length} private keys (${describeKids(privateKeys)})`,
    privateKeys.length === 0 ? undefined : 'set kid to choose one',
  );
}

function describeKids(keys: readonly ParsedJwk[]): string {
  const kids = keys.map((k) => (k.kid === undefined ? '(no kid)' : `"${k.kid}"`));
  return kids.length === 0 ? 'no keys' : `kids ${kids.join(', ')}`;
}

function algorithmForJwk(jwk: ParsedJwk): ClientKeyAlgorithm | undefined {
  if (jwk.kty === 'RSA') return 'RS384';
  if (jwk.kty === 'EC' && jwk.crv === 'P-384') return 'ES384';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// PEM

async function loadPemKey(file: string, text: string, options: LoadClientKeyOptions): Promise<ClientKey> {
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
  if (label === undefined || !label.endsWith('PRIVATE KEY')) {
    throw keyError(
      file,
      `SMART client key file ${file} holds a PEM "${label ?? 'unknown'}" block, not a private key`,
      'the client needs its private key; the public key or certificate is what the server is given',
    );
  }
  const encrypted = label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(text);
  let passphrase: string | undefined;
  if (encrypted) {
    if (options.passphraseEnv === undefined) {
      throw keyError(file, `SMART client key file ${file} is encrypted and no passphrase variable is configured`, 'set passphraseEnv to the name of an environment variable holding the passphrase');
    }
    passphrase = options.env[options.passphraseEnv];
    if (passphrase === undefined || passphrase === '') {
      throw keyError(file, `SMART client key file ${file} is encrypted but the environment variable ${options.passphraseEnv} is not set`);
    }
  }

  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(passphrase === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', passphrase });
  } catch (err) {
    throw keyError(
      file,
      `SMART client key file ${file} could not be read as a PEM private key${encrypted ? ' (is the passphrase right?)' : ''} (${errorTag(err)})`,
    );
  }

  const type = keyObject.asymmetricKeyType;
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  const fromType: ClientKeyAlgorithm | undefined =
    type === 'rsa' ? 'RS384' : type === 'ec' && (curve === 'secp384r1' || curve === 'P-384') ? 'ES384' : undefined;
  if (fromType === undefined) {
    throw keyError(
      file,
      `SMART client key file ${file} holds a ${type ?? 'unknown'}${curve ? ` ${curve}` : ''} key; only RSA (RS384) and EC P-384 (ES384) keys are supported`,
    );
  }
  const alg = agreeAlgorithm(file, fromType, options.algorithm);

  // Re-imported as a non-extractable CryptoKey so signing needs no conversion per assertion.
  const jwk = keyObject.export({ format: 'jwk' }) as JWK;
  let key: webcrypto.CryptoKey;
  try {
    key = (await importJWK({ ...jwk, alg, ext: false }, alg)) as webcrypto.CryptoKey;
  } catch (err) {
    throw keyError(file, `SMART client key file ${file} could not be imported as an ${alg} private key (${errorTag(err)})`);
  }
  checkRsaSize(file, key);
  const kid = options.kid ?? (await thumbprint(file, jwk));
  return { key, kid, alg };
}

// ---------------------------------------------------------------------------------------------
// Shared checks

function agreeAlgorithm(file: string, fromKey: ClientKeyAlgorithm, configured: ClientKeyAlgorithm | undefined): ClientKeyAlgorithm {
  if (configured !== undefined && configured !== fromKey) {
    throw keyError(
      file,
      `SMART client key file ${file} holds a key for ${fromKey}, but the configuration asks for ${configured}`,
      `use an ${configured === 'RS384' ? 'RSA' : 'EC P-384'} key, or set algorithm to ${fromKey}`,
    );
  }
  return fromKey;
}

function checkRsaSize(file: string, key: webcrypto.CryptoKey): void {
  const algorithm = key.algorithm as { name: string; modulusLength?: number };
  if (algorithm.modulusLength !== undefined && algorithm.modulusLength < MIN_RSA_BITS) {
    throw keyError(file, `SMART client key file ${file} holds a ${algorithm.modulusLength}-bit RSA key; RS384 needs at least ${MIN_RSA_BITS} bits`);
  }
}

async function thumbprint(file: string, jwk: ParsedJwk | JWK): Promise<string> {
  try {
    // RFC 7638 uses only the required public members (e, kty, n / crv, kty, x, y).
    return await calculateJwkThumbprint(jwk as JWK, 'sha256');
  } catch (err) {
    throw keyError(file, `SMART client key file ${file}: cannot compute the key's JWK thumbprint for a kid (${errorTag(err)})`, 'set kid in the configuration');
  }
}

/** A safe tag for a crypto library error: its code or class name, never its message. */
function errorTag(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.name : 'unknown error';
}
