import { describe, expect, it } from 'vitest';
import { DelayProxy } from '../run/proxy.js';
import { TRANSPORTS, type TransportName } from '../core/transports.js';
import { clientContext, collect, getJson, publish, referenceSpec, referenceTarget, testCleanup } from './helpers.js';

const cleanup = testCleanup();
const server = cleanup.server;

/** A delay-free proxy in front of the server: the test cuts the clients' connections through it. */
async function proxyFor(url: string): Promise<{ proxy: DelayProxy; url: string }> {
  const proxy = new DelayProxy({ upstreamHost: '127.0.0.1', upstreamPort: Number(new URL(url).port), delayMs: 0, jitterMs: 0, mode: 'link', seed: 1 });
  const proxyUrl = await proxy.listen();
  cleanup.add(() => proxy.close());
  return { proxy, url: proxyUrl };
}

/** A reference-profile subscriber of `room` at `url` (the server, or a proxy in front of it). */
function subscribe(transport: TransportName, url: string, room: string, options: { resume?: boolean } = {}) {
  const resume = options.resume ?? true;
  const ctx = clientContext({ resume });
  const sub = collect(transport, ctx, referenceSpec(referenceTarget(url, transport, { resume }), room));
  cleanup.add(() => sub.subscription.close());
  return sub;
}

/** Publishes until the subscriber has received one of them: proof that its subscription is live. */
async function untilLive(url: string, room: string, sub: ReturnType<typeof subscribe>, tag: string): Promise<void> {
  const before = sub.received.contents.length;
  for (let i = 0; i < 200; i++) {
    await publish(url, room, `${tag}-${i}`);
    try {
      await sub.until((r) => r.contents.length > before, 'a live message', 50);
      return;
    } catch {
      // not live yet: publish again (bounded by the loop)
    }
  }
  throw new Error('subscriber never became live');
}

for (const transport of TRANSPORTS) {
  describe(`contract A over ${transport}`, () => {
    it('delivers every message once, in order, with the content byte for byte', async () => {
      const url = await server();
      const room = `order-${transport}`;
      const sub = subscribe(transport, url, room);
      await sub.subscription.ready;
      await untilLive(url, room, sub, 'warm');
      const skip = sub.received.ids.length;
      const contents = ['plain', 'ünïcödé ✓ 🚀', 'x'.repeat(10_000), '{"json":"inside"}', 'line\nbreak'];
      for (const content of contents) expect((await publish(url, room, content)).status).toBe(201);
      await sub.until((r) => r.ids.length >= skip + contents.length, 'five messages');
      expect(sub.received.contents.slice(skip)).toEqual(contents);
      const ids = sub.received.ids.slice(skip);
      expect(ids).toEqual([...ids].sort((a, b) => Number(a) - Number(b)));
      expect(new Set(sub.received.ids).size).toBe(sub.received.ids.length);
    });

    it('resumes after a forced disconnect and loses nothing', async () => {
      const url = await server();
      const { proxy, url: proxied } = await proxyFor(url);
      const room = `resume-${transport}`;
      const sub = subscribe(transport, proxied, room, { resume: true });
      await sub.subscription.ready;
      await untilLive(url, room, sub, 'warm');
      for (const n of [1, 2, 3]) await publish(url, room, `before-${n}`);
      await sub.until((r) => r.contents.includes('before-3'), 'before-3');

      // The link fails and stays down while three messages are published.
      proxy.setRefusing(true);
      proxy.cutAll();
      for (const n of [1, 2, 3]) await publish(url, room, `during-${n}`);
      proxy.setRefusing(false);
      await publish(url, room, 'after-1');
      await sub.until((r) => r.contents.includes('after-1'), 'after-1');

      const tail = sub.received.contents.slice(sub.received.contents.indexOf('before-1'));
      expect(tail).toEqual(['before-1', 'before-2', 'before-3', 'during-1', 'during-2', 'during-3', 'after-1']);
      expect(new Set(sub.received.ids).size).toBe(sub.received.ids.length);
      expect(sub.subscription.stats().reconnects).toBeGreaterThanOrEqual(1);
    });

    it("without resume, loses what was published during the outage (as the original study's clients did)", async () => {
      const url = await server();
      const { proxy, url: proxied } = await proxyFor(url);
      const room = `noresume-${transport}`;
      const sub = subscribe(transport, proxied, room, { resume: false });
      await sub.subscription.ready;
      await untilLive(url, room, sub, 'warm');
      proxy.setRefusing(true);
      proxy.cutAll();
      for (const n of [1, 2, 3]) await publish(url, room, `during-${n}`);
      proxy.setRefusing(false);
      await untilLive(url, room, sub, 'after');
      expect(sub.received.contents.filter((c) => c.startsWith('during-'))).toEqual([]);
    });

    it('signals a gap when its history cannot cover the outage', async () => {
      const url = await server({ historyLimit: 3 });
      const { proxy, url: proxied } = await proxyFor(url);
      const room = `gap-${transport}`;
      const sub = subscribe(transport, proxied, room, { resume: true });
      await sub.subscription.ready;
      await untilLive(url, room, sub, 'warm');
      const lastBefore = Number(sub.received.ids.at(-1));
      proxy.setRefusing(true);
      proxy.cutAll();
      for (let n = 1; n <= 6; n++) await publish(url, room, `during-${n}`);
      proxy.setRefusing(false);
      await sub.until((r) => r.contents.includes('during-6'), 'during-6');
      // Six were published while away, three are kept: the first three are reported missing.
      expect(sub.received.gaps).toEqual([{ from: lastBefore + 1, to: lastBefore + 3 }]);
      expect(sub.received.contents.filter((c) => c.startsWith('during-'))).toEqual(['during-4', 'during-5', 'during-6']);
      expect(sub.subscription.stats().gaps).toBe(1);
    });

    it('answers bad requests with 4xx and changes nothing', async () => {
      const url = await server();
      const room = `bad-${transport}`;
      await publish(url, room, 'kept');
      const path = `${url}/${transport}/chat-rooms/${room}/messages`;
      const answers = [
        await getJson(`${path}?since=abc`),
        await getJson(`${path}?since=-1`),
        await getJson(`${url}/${transport}/chat-rooms/${room}/nothing`),
      ];
      for (const answer of answers) {
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      }
      const history = await getJson(`${url}/messages?chatRoomId=${room}&since=0`);
      expect(history.body.map((m: { content: string }) => m.content)).toEqual(['kept']);
    });
  });
}

describe('long polling without a cursor', () => {
  it('loses a message published between two polls; with a cursor none is lost', async () => {
    const url = await server();
    const { proxy, url: proxied } = await proxyFor(url);
    for (const resume of [false, true]) {
      const room = `between-${resume}`;
      const sub = subscribe('long-polling', proxied, room, { resume });
      await sub.subscription.ready;
      await untilLive(url, room, sub, 'warm');
      // Between two polls: the held poll is cut; the next one can only start after the publish.
      proxy.setRefusing(true);
      proxy.cutAll();
      await publish(url, room, 'between');
      proxy.setRefusing(false);
      await untilLive(url, room, sub, 'later');
      expect(sub.received.contents.includes('between')).toBe(resume);
    }
  });
});
