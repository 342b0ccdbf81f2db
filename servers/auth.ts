/**
 * Contract A accepts any bearer token and uses it as the user id. A JWT's `sub` claim is used when
 * the token is one, so a target's real tokens show up as their users; the signature is not checked.
 */
export function userIdFrom(authorization: string | undefined): string {
  if (!authorization) return 'anonymous';
  const token = authorization.replace(/^Bearer\s+/i, '').trim();
  if (token === '') return 'anonymous';
  const parts = token.split('.');
  if (parts.length === 3 && parts[1]) {
    try {
      const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
      if (claims && typeof claims === 'object' && 'sub' in claims && typeof claims.sub === 'string') return claims.sub;
    } catch {
      // Not a JWT after all: the token itself is the user id.
    }
  }
  return token.slice(0, 128);
}
