import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/**
 * A self-signed certificate for 127.0.0.1 and localhost, made in memory when a built-in server
 * starts with TLS (`--http2`) and forgotten when it stops: nothing is written to disk and no tool
 * outside Node is needed. The server hands its PEM to rtbench, which trusts it for that run only.
 * X.509 is DER: each value a tag, a length and its content, nested; only what a TLS client checks is
 * written (validity, subject alternative names, the key, the signature).
 */
/** How a server process is handed the run's certificate (environment, not a command line `ps` shows). */
export const TLS_KEY_ENV = 'RTBENCH_TLS_KEY';
export const TLS_CERT_ENV = 'RTBENCH_TLS_CERT';

export interface ThrowawayCert {
  readonly certPem: string;
  readonly keyPem: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);

function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) base128.unshift((value & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A positive INTEGER from big-endian bytes. */
function integer(bytes: Buffer): Buffer {
  return tlv(0x02, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function utcTime(date: Date): Buffer {
  const two = (n: number): string => String(n).padStart(2, '0');
  const text = `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const NAME = sequence(tlv(0x31, sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from('rtbench built-in server', 'utf8')))));
/** subjectAltName: IP 127.0.0.1 ([7]) and DNS localhost ([2]). */
const SUBJECT_ALT_NAME = sequence(oid('2.5.29.17'), tlv(0x04, sequence(tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x82, Buffer.from('localhost', 'ascii')))));

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** A P-256 key and a certificate for it, valid from an hour ago for `validDays`. */
export function throwawayCert(validDays = 2, now = new Date()): ThrowawayCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))), // version 3
    integer(randomBytes(16)),
    ECDSA_WITH_SHA256,
    NAME,
    sequence(utcTime(new Date(now.getTime() - 3600_000)), utcTime(new Date(now.getTime() + validDays * 86_400_000))),
    NAME,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, sequence(SUBJECT_ALT_NAME)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
  return { certPem: pem('CERTIFICATE', certificate), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
