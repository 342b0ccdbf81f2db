/**
 * The cheapest receiver Node can be, as a yardstick for the cost per delivery.
 *
 * Its sockets are plain TCP sockets that send the subscribe request of contract A (a WebSocket
 * upgrade, an SSE GET, or an upgrade plus STOMP CONNECT and SUBSCRIBE) and then only count the bytes
 * they read, into one shared buffer per thread: no frame is decoded, no JSON parsed, nothing matched
 * or timed. What such a process spends per delivered message is what any Node receiver pays before
 * it does anything with a message: the epoll wake-up, the read, and the call from libuv into
 * JavaScript. It runs its sockets on the same number of worker threads as rtbench, against rtbench's
 * built-in server, on the schedule of the cost table, so the two can be set side by side.
 */
import http from 'node:http';
import net from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startChild } from '../run/child.js';
import { programPath } from '../core/entry-points.js';
import { procStat } from '../core/proc-stat.js';

export type BareKind = 'ws' | 'sse' | 'stomp';

interface WorkerJob {
  readonly kind: BareKind;
  readonly host: string;
  readonly port: number;
  readonly sockets: number;
  readonly room: string;
}

const ROOM = 'bare';
const CONNECT_CONCURRENCY = 100;

/** A client frame with a zero mask (allowed: the mask only has to be present), text opcode. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('bare receiver frames are short');
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

function subscribeBytes(job: WorkerJob): Buffer {
  const host = `${job.host}:${job.port}`;
  if (job.kind === 'sse') return Buffer.from(`GET /sse/chat-rooms/${job.room}/messages HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`);
  const path = job.kind === 'ws' ? `/ws/chat-rooms/${job.room}/messages` : '/stomp';
  const upgrade = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${job.kind === 'stomp' ? 'Sec-WebSocket-Protocol: v12.stomp\r\n' : ''}\r\n`;
  if (job.kind === 'ws') return Buffer.from(upgrade);
  // The server reads the STOMP frames once the upgrade is through; sending them at once saves a round trip.
  return Buffer.concat([
    Buffer.from(upgrade),
    maskedTextFrame(`CONNECT\naccept-version:1.2\nhost:${host}\n\n\0`),
    maskedTextFrame(`SUBSCRIBE\nid:0\ndestination:/topic/chat-rooms/${job.room}/messages\n\n\0`),
  ]);
}

/** Worker side: opens the sockets, reports when each has read its first bytes, then counts reads. */
async function runWorker(job: WorkerJob): Promise<void> {
  const shared = Buffer.allocUnsafe(64 * 1024);
  let reads = 0;
  const sockets: net.Socket[] = [];
  const request = subscribeBytes(job);
  const openOne = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let first = true;
      const socket = net.connect({
        host: job.host,
        port: job.port,
        onread: {
          buffer: shared,
          callback: () => {
            reads++;
            if (first) {
              first = false;
              resolve();
            }
            return true;
          },
        },
      });
      socket.once('error', reject);
      socket.once('connect', () => socket.write(request));
      sockets.push(socket);
    });
  for (let next = 0; next < job.sockets; next += CONNECT_CONCURRENCY) {
    await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, job.sockets - next) }, openOne));
  }
  parentPort!.postMessage({ opened: job.sockets });
  parentPort!.on('message', (command: string) => {
    if (command === 'reads') parentPort!.postMessage({ reads });
    else {
      for (const socket of sockets) socket.destroy();
      parentPort!.close();
    }
  });
}

function serverCpuMs(pid: number): number {
  const stat = procStat(pid);
  if (stat === null) throw new Error(`bare receiver: cannot read the CPU of its server (pid ${pid}) from /proc`);
  return stat.cpuMs;
}

export interface BareReceiverCost {
  readonly deliveries: number;
  /** Reads the bare sockets counted; about one per delivery when messages do not coalesce. */
  readonly reads: number;
  readonly seconds: number;
  readonly serverCpuMs: number;
  readonly receiverCpuMs: number;
}

/**
 * Starts the built-in server for `kind`, holds `subscribers` bare sockets in one room on `workers`
 * threads, publishes `rate` messages a second for `seconds`, and returns the CPU each side spent
 * over the seconds after the first `settleS`.
 */
export async function measureBareReceiver(kind: BareKind, subscribers: number, rate: number, seconds: number, settleS: number, workers = 2): Promise<BareReceiverCost> {
  const server = await startChild(`reference server (${kind})`, programPath('referenceServer'), ['--port', '0', '--exit-on-stdin-end', '--transports', kind]);
  const url = new URL(server.url);
  const threads: Worker[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // The built file, also when this module runs from source (under the tests).
    const self = programPath('bareReceiver');
    for (let w = 0; w < workers; w++) {
      const share = Math.floor(subscribers / workers) + (w < subscribers % workers ? 1 : 0);
      const job: WorkerJob = { kind, host: url.hostname, port: Number(url.port), sockets: share, room: ROOM };
      const worker = new Worker(self, { workerData: job });
      threads.push(worker);
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
    }
    const post = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ chatRoomId: ROOM, content: `bare ${Date.now()}` });
        const req = http.request(`${server.url}/messages`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      });
    const readsNow = async (): Promise<number> => {
      let total = 0;
      for (const worker of threads) {
        worker.postMessage('reads');
        total += await new Promise<number>((resolve) => worker.once('message', (m: { reads: number }) => resolve(m.reads)));
      }
      return total;
    };
    const gapMs = 1000 / rate;
    const startedMs = performance.now();
    let baseline: { atMs: number; server: number; receiver: number; reads: number; published: number } | null = null;
    let published = 0;
    for (let k = 0; k < Math.round(seconds * rate); k++) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedMs + k * gapMs - performance.now())));
      if (baseline === null && performance.now() - startedMs >= settleS * 1000) {
        // Taken between two publishes, so no fan-out is half counted.
        const usage = process.cpuUsage();
        baseline = { atMs: performance.now(), server: serverCpuMs(server.pid), receiver: (usage.user + usage.system) / 1000, reads: await readsNow(), published };
      }
      await post();
      published++;
    }
    if (baseline === null) throw new Error('bare receiver: the run is shorter than its settling time');
    // Let the last fan-out land before the closing reading: a POST is answered before the server has
    // written every push, and on a busy machine the sockets read them later still. Each delivery is
    // at least one read, so the reads reaching the deliveries say it has landed; bounded, as pushes
    // that share one read would never get there.
    const deliveries = (published - baseline.published) * subscribers;
    const landByMs = performance.now() + Math.max(1000, 2 * gapMs);
    while ((await readsNow()) - baseline.reads < deliveries && performance.now() < landByMs) await new Promise((resolve) => setTimeout(resolve, 5));
    const usage = process.cpuUsage();
    return {
      deliveries,
      reads: (await readsNow()) - baseline.reads,
      seconds: (performance.now() - baseline.atMs) / 1000,
      serverCpuMs: serverCpuMs(server.pid) - baseline.server,
      receiverCpuMs: (usage.user + usage.system) / 1000 - baseline.receiver,
    };
  } finally {
    for (const worker of threads) worker.postMessage('close');
    await Promise.all(threads.map((worker) => worker.terminate()));
    agent.destroy();
    await server.stop();
  }
}

if (!isMainThread) void runWorker(workerData as WorkerJob);
