import { usageError } from '../core/errors.js';
import type { TransportName } from '../core/transports.js';
import type { ProfileRef } from '../targets/load.js';
import type { ProvisionRequest, ResumeKind, TargetContext, TargetProfile } from '../targets/types.js';
import type { CommonConfig } from './options.js';
import type { TargetHandle } from './scenario.js';
import { instanceContexts, roundRobinChannel, subscriberContext } from '../load/spread.js';

/** Provisioning requests (sign-ups, logins, rooms) at once, at most. */
const PROVISION_CONCURRENCY = 16;
/** Publisher connections (HTTP) or sessions (STOMP) of a run. */
export const PUBLISH_CONNECTIONS = 32;

export function resumeKindOf(profile: TargetProfile, transport: TransportName): ResumeKind {
  return profile.resume[transport] ?? 'none';
}

/**
 * The transports a run measures: every one the profile serves for `all`, else the one named, which
 * the profile must serve (a usage error lists those it does).
 */
export function transportsOf(profile: TargetProfile, common: CommonConfig): TransportName[] {
  if (common.transport === 'all') return [...profile.transports];
  if (!profile.transports.includes(common.transport)) {
    throw usageError('--transport', common.transport, `one the profile ${profile.name} serves: ${profile.transports.join(', ')} (or all)`);
  }
  return [common.transport];
}

/**
 * Whether each transport resumes: what the profile can do unless the user said. Asking for resume
 * where the profile cannot is refused, never silently ignored.
 */
export function resumeOf(profile: TargetProfile, transports: readonly TransportName[], asked: boolean | null): Record<string, boolean> {
  const cannot = transports.filter((t) => resumeKindOf(profile, t) === 'none');
  if (asked === true && cannot.length > 0) {
    throw usageError('--resume', true, `no --resume: profile ${profile.name} cannot resume over ${cannot.join(', ')} (it has no cursor there); run without it, or with --no-resume`);
  }
  return Object.fromEntries(transports.map((t) => [t, asked ?? resumeKindOf(profile, t) !== 'none']));
}

/** Profiles other than the reference need a server of their kind: rtbench's built-in servers speak contract A only. */
export function checkTargetGiven(profile: TargetProfile, common: CommonConfig): void {
  if (profile.name !== 'reference' && common.target === null) {
    throw usageError('--target', null, `the URL of a server profile ${profile.name} can talk to (the built-in servers speak contract A, profile reference)`);
  }
}

export function targetContext(common: CommonConfig, transport: TransportName, runId: string, url: string, directUrl: string, resume: boolean, instanceUrls: readonly string[] = [url]): TargetContext {
  return {
    url,
    directUrl,
    ...(instanceUrls.length > 1 ? { instanceUrls, spread: common.spread } : {}),
    transport,
    runId,
    headers: common.headers,
    resume,
    heartbeatMs: common.heartbeatMs,
    pollTimeoutMs: common.pollTimeoutMs,
    connectTimeoutMs: common.connectTimeoutMs,
    publishConnections: PUBLISH_CONNECTIONS,
    publishTimeoutMs: common.deadlineMs,
    options: common.profileOptions,
    ...(common.http2 ? { http2: true } : {}),
  };
}

/** `--profile-opt` checked against what the profile declares: a key it does not take is a usage error listing those it does. */
export function checkProfileOptions(profile: TargetProfile, given: Readonly<Record<string, string>>): void {
  const declared = profile.options ?? {};
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(declared, key)) {
      const accepted = Object.entries(declared).map(([name, o]) => `${name} (${o.description}; default ${o.defaultValue})`);
      throw usageError('--profile-opt', `${key}=${given[key]}`, accepted.length > 0 ? `a key profile ${profile.name} takes: ${accepted.join(', ')}` : `nothing: profile ${profile.name} takes no options`);
    }
  }
}

/** What a scenario holds of its target: the profile bound to this run's context. */
export function targetHandle(profile: TargetProfile, ref: ProfileRef, context: TargetContext): TargetHandle {
  return {
    profile,
    ref,
    context,
    provision: (request: Omit<ProvisionRequest, 'concurrency'>) => profile.provision(context, { ...request, concurrency: PROVISION_CONCURRENCY }),
    publisher: (provisioned) => roundRobinChannel(instanceContexts(context).map((instance) => profile.publisher(instance, provisioned))),
    spec: (provisioned, subscriber) => profile.subscription(subscriberContext(context, subscriber), provisioned, subscriber),
    withResume: (resume) => targetHandle(profile, ref, { ...context, resume }),
    direct: () => targetHandle(profile, ref, { ...context, url: context.directUrl }),
    canResume: resumeKindOf(profile, context.transport) !== 'none',
  };
}
