import tls from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';

/**
 * Which TLS certificates a run trusts, for every connection it makes (subscribers, publisher,
 * health checks and provisioning, a profile's own fetch): the system's, plus a CA of the user's
 * (`--ca FILE`), or none checked at all (`--insecure`, explicit and recorded). Each thread sets it
 * once; subscriber threads get it in their init.
 */
export interface TlsTrust {
  /** PEM of extra certificate authorities, trusted beside the system's. */
  readonly ca?: string;
  /** No certificate is verified. */
  readonly insecure: boolean;
}

let trust: TlsTrust = { insecure: false };

export function setTlsTrust(next: TlsTrust): void {
  const customised = trust.ca !== undefined || trust.insecure;
  trust = next;
  if (next.ca === undefined && !next.insecure && !customised) return;
  // undici's global dispatcher serves its `request` and Node's global fetch alike.
  setGlobalDispatcher(new Agent({ connect: connectOptions() }));
}

export function currentTlsTrust(): TlsTrust {
  return trust;
}

/** What a TLS connection is opened with: the defaults unless --ca or --insecure said otherwise. */
export function connectOptions(): tls.ConnectionOptions {
  return {
    ...(trust.ca !== undefined ? { ca: [...tls.rootCertificates, trust.ca] } : {}),
    ...(trust.insecure ? { rejectUnauthorized: false } : {}),
  };
}
