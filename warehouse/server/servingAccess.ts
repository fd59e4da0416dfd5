// What a governed entry point (the HTTP server, `carelake query --role`) opens from the configuration:
// the authenticator (hashed API keys, and JWTs when an identity provider is configured), the check that
// ends a browser session whose key was revoked, the audit log, and the disclosure policy. One place, so
// the CLI and the server enforce the same things.

import type { CarelakeConfig } from '../../core/config.ts';
import type { LakeLayout } from '../../core/lake.ts';
import { AuditLog } from '../audit/auditLog.ts';
import { ApiKeyStore } from '../auth/apiKeys.ts';
import { createAuthenticator, createPrincipalCheck, type Authenticate, type PrincipalCheck } from '../auth/authenticate.ts';
import { createJwtVerifier } from '../auth/jwtVerifier.ts';
import { DISCLOSURE_POLICIES, type DisclosurePolicy } from '../disclosure/policy.ts';

export interface ServingAccess {
  authenticate: Authenticate;
  /** Whether a signed-in browser session's principal may still act (its API key not revoked). */
  stillValid: PrincipalCheck;
  audit: AuditLog;
  policy: DisclosurePolicy;
  close(): Promise<void>;
}

export function openAuditLog(layout: LakeLayout): AuditLog {
  return AuditLog.open(layout.auditLog, { headFile: layout.auditHead, lockFile: layout.auditLock });
}

export async function openServingAccess(config: CarelakeConfig, layout: LakeLayout): Promise<ServingAccess> {
  const apiKeys = await ApiKeyStore.open(config.serve.auth.apiKeysFile);
  const jwt = config.serve.auth.jwt ? await createJwtVerifier(config.serve.auth.jwt) : undefined;
  const audit = openAuditLog(layout);
  return {
    authenticate: createAuthenticator({ apiKeys, jwt }),
    stillValid: createPrincipalCheck({ apiKeys }),
    audit,
    policy: DISCLOSURE_POLICIES[config.governance.suppression],
    close: () => audit.close(),
  };
}
