/**
 * What rtbench writes or prints never holds a secret it was given: header values, a URL's password,
 * and URL query values named like credentials become `***`. The real values are used on the wire;
 * only what is recorded (summary.json's command and config, summary.md, errors, the terminal) is
 * redacted, at the place it is recorded.
 */
export const REDACTED = '***';

/** Query parameters whose values are credentials: token, access_token, api_key, key, password, secret, auth... */
const CREDENTIAL_NAME = /(token|key|pass|secret|auth|sig|credential|session)/i;

/** A URL (or a comma-separated list of them) with its password and credential-like query values redacted; other text unchanged. */
export function redactUrl(text: string): string {
  if (text.includes(',')) return text.split(',').map(redactUrl).join(',');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  let changed = false;
  if (url.password) {
    url.password = REDACTED;
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (CREDENTIAL_NAME.test(name)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  // Rewritten only when something was redacted, so a URL keeps the form it was given in.
  return changed ? url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED) : text;
}

/** `Name: value` with the value redacted. */
export function redactHeader(header: string): string {
  const colon = header.indexOf(':');
  return colon < 0 ? REDACTED : `${header.slice(0, colon + 1)} ${REDACTED}`;
}

/** A command line with every -H/--header value redacted, and every URL in it. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if ((arg === '-H' || arg === '--header') && i + 1 < argv.length) {
      out.push(arg, redactHeader(argv[++i] as string));
    } else if (arg.startsWith('--header=')) {
      out.push(`--header=${redactHeader(arg.slice('--header='.length))}`);
    } else if (arg.startsWith('-H') && arg.length > 2) {
      out.push(`-H${redactHeader(arg.slice(2))}`);
    } else {
      const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
      out.push(eq > 0 ? `${arg.slice(0, eq + 1)}${redactUrl(arg.slice(eq + 1))}` : redactUrl(arg));
    }
  }
  return out;
}

/** Parsed options as recorded in a result: headers' values and every URL redacted. */
export function redactOptions(options: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([key, value]) => {
      if ((key === 'header' || key === 'headerFile') && value && typeof value === 'object') return [key, Object.fromEntries(Object.keys(value).map((name) => [name, REDACTED]))];
      // A profile's options: those named like credentials (apiKey, token...) are redacted.
      if (key === 'profileOpt' && value && typeof value === 'object') return [key, Object.fromEntries(Object.entries(value).map(([name, v]) => [name, CREDENTIAL_NAME.test(name) ? REDACTED : v]))];
      if (typeof value === 'string') return [key, redactUrl(value)];
      if (Array.isArray(value)) return [key, value.map((item: unknown) => (typeof item === 'string' ? redactUrl(item) : item))];
      return [key, value];
    }),
  );
}
