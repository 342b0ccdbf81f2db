import type { SubscribeSpec } from '../clients/types.js';
import type { TransportName } from '../core/transports.js';

/**
 * A target profile: everything rtbench must know to measure one kind of server. The engine sees
 * only what a profile hands it (URLs, headers, room ids, how to read a pushed message); latency and
 * loss still come from the marker rtbench writes into `content`, so they are measured the same way
 * on every profile.
 *
 * A profile is plain data and functions, loaded by name (built in) or from a file
 * (`--profile ./my-api.js`), in the main thread and again in every subscriber thread: whatever
 * `provision` returns is handed to those threads, so it must be plain JSON.
 */
export interface TargetProfile<Provisioned = unknown> {
  readonly name: string;
  readonly summary: string;
  /** Transports this server serves; `--transport all` means these, in this order. */
  readonly transports: readonly TransportName[];
  /** How each transport resumes after a reconnect; a transport not listed cannot resume. */
  readonly resume: Readonly<Partial<Record<TransportName, ResumeKind>>>;
  /** Resolves when the server is up; rejects with a reason (it is reported as the target being unreachable). */
  health(target: TargetContext): Promise<void>;
  /**
   * Creates what a run needs (users, tokens, rooms, membership), once per transport run, before
   * anything is timed, with at most `need.concurrency` requests at once.
   */
  provision(target: TargetContext, need: ProvisionRequest): Promise<Provisioned>;
  /** How to publish: one channel for the whole run (HTTP requests, or a STOMP SEND). */
  publisher(target: TargetContext, provisioned: Provisioned): PublishChannel;
  /** How subscriber `subscriber` subscribes over `target.transport`. */
  subscription(target: TargetContext, provisioned: Provisioned, subscriber: SubscriberRef): SubscribeSpec;
  /**
   * What `--profile-opt KEY=VALUE` may set, by key: what it means and its default. A key not listed
   * is refused; the profile reads the values from `target.options` (defaults filled in).
   */
  readonly options?: Readonly<Record<string, { readonly description: string; readonly defaultValue: string }>>;
}

/** `cursor`: an id or position in the request (contract A's `since`); `last-event-id`: SSE's standard header; `none`: cannot resume. */
export type ResumeKind = 'cursor' | 'last-event-id' | 'none';

/** What a profile knows of the run it serves. */
export interface TargetContext {
  /** Where clients connect: the server, or the delay proxy in front of it. */
  readonly url: string;
  /** The server itself, bypassing the proxy: where a publisher keeps publishing through a subscriber-side fault. */
  readonly directUrl: string;
  /**
   * Every instance of a cluster (the built-in `--instances N`, or several `--target` URLs), `url`
   * being the first; rtbench hands each subscriber and publish a context whose `url` is one of them.
   */
  readonly instanceUrls?: readonly string[];
  /** How subscribers are spread over `instanceUrls`. */
  readonly spread?: 'round-robin' | 'hash';
  readonly transport: TransportName;
  readonly runId: string;
  /** `-H` headers, sent on every request and upgrade. */
  readonly headers: Readonly<Record<string, string>>;
  /** Whether subscribers resume (the profile's default unless the user said otherwise). */
  readonly resume: boolean;
  /** STOMP heart-beat both ways (`--heartbeat`); 0 turns them off. */
  readonly heartbeatMs: number;
  /** How long a long poll may be held by the server (`--poll-timeout`). */
  readonly pollTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Connections the publisher may hold open at once. */
  readonly publishConnections: number;
  /** A publish not accepted within this is counted as failed (`PUBLISH_TIMEOUT`). */
  readonly publishTimeoutMs: number;
  /** The profile's options as the user gave them (`--profile-opt`, checked against `TargetProfile.options`). */
  readonly options?: Readonly<Record<string, string>>;
  /** SSE and long-polling subscribers offer HTTP/2 (`--http2`). */
  readonly http2?: boolean;
}

export interface ProvisionRequest {
  /** Rooms to create or name, 0-based. */
  readonly rooms: number;
  /** `subscriberRooms[i]`: the room of subscriber i (its length is the number of subscribers). */
  readonly subscriberRooms: readonly number[];
  /** Distinguishes two provisionings of one transport run (faults: resume on, then off). */
  readonly tag: string;
  /** Requests at once, at most. */
  readonly concurrency: number;
}

export interface SubscriberRef {
  readonly index: number;
  readonly room: number;
}

export interface PublishOutcome {
  /** Round trip until the server accepted the message (or refused it). */
  readonly rttUs: number;
  /** null when accepted; otherwise a short code (`HTTP_403`, `PUBLISH_TIMEOUT`, ...). */
  readonly errorCode: string | null;
}

/** One way of publishing for a whole run; `publish` never rejects. */
export interface PublishChannel {
  publish(room: number, content: string): Promise<PublishOutcome>;
  close(): Promise<void>;
}

/** The value of a profile's option for this run: the user's (`--profile-opt`) or the declared default. */
export function profileOption(profile: Pick<TargetProfile, 'options'>, target: Pick<TargetContext, 'options'>, key: string): string {
  return target.options?.[key] ?? profile.options?.[key]?.defaultValue ?? '';
}
