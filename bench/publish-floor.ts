/**
 * The publisher's ceiling beside autocannon's, on one endpoint: the null server's POST /messages
 * (servers/null-server.ts), on this machine. rtbench publishes open loop on a schedule, as every
 * scenario does (load/publish-ceiling.ts: the highest rate whose send lag p99 stays within 2 ms);
 * autocannon sends closed loop as fast as its connections are answered, the most requests a second
 * Node can push at that endpoint. Both with the same body and connection count.
 */
import autocannon from 'autocannon';
import { programPath } from '../core/entry-points.js';
import { startChild } from '../run/child.js';
import { type PublishStep, highestPublishRate, publishCeiling } from '../load/publish-ceiling.js';
import { postMessages } from '../targets/http.js';

export interface PublishFloor {
  readonly rtbench: readonly PublishStep[];
  readonly rtbenchHeldPerS: number | null;
  /** The highest rate kept within the saturation limit (5 ms). */
  readonly rtbenchKeptPerS: number | null;
  readonly autocannonPerS: number;
  readonly autocannonLatencyP99Ms: number;
  readonly connections: number;
}

const CONNECTIONS = 32;
const AUTOCANNON_SECONDS = 5;

export async function measurePublishFloor(rates: readonly number[], seconds: number): Promise<PublishFloor> {
  const server = await startChild('null server', programPath('nullServer'), ['--exit-on-stdin-end']);
  try {
    const target = { url: server.url, directUrl: server.url, transport: 'ws' as const, runId: 'publish-floor', headers: {}, resume: false, heartbeatMs: 0, pollTimeoutMs: 30_000, connectTimeoutMs: 5000, publishConnections: CONNECTIONS, publishTimeoutMs: 5000 };
    const channel = postMessages(target, ['floor']);
    let steps: PublishStep[];
    try {
      // One short round first: connections opened and the code compiled before anything is judged.
      await publishCeiling(channel, new AbortController().signal, { rates: [1000, 5000], seconds: 0.5 });
      steps = await publishCeiling(channel, new AbortController().signal, { rates, seconds });
    } finally {
      await channel.close();
    }
    const body = JSON.stringify({ chatRoomId: 'floor', content: 'rtb1|publish-floor|0|0|0|' });
    const result = await autocannon({ url: `${server.url}/messages`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: CONNECTIONS, duration: AUTOCANNON_SECONDS });
    return {
      rtbench: steps,
      rtbenchHeldPerS: highestPublishRate(steps, (s) => s.held),
      rtbenchKeptPerS: highestPublishRate(steps, (s) => s.kept),
      autocannonPerS: Math.round(result.requests.average),
      autocannonLatencyP99Ms: result.latency.p99,
      connections: CONNECTIONS,
    };
  } finally {
    await server.stop();
  }
}
