import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyReader } from '../clients/http-body.js';
import { SseParser, type SseEvent } from '../clients/sse-parser.js';
import { FrameReader, OPCODE } from '../clients/ws-frames.js';
import { decodeMarker, encodeMarker } from '../core/marker.js';
import { FrameError, FrameParser, type StompFrame, serializeFrame } from '../core/stomp-frames.js';

/**
 * Property tests of every decoder rtbench reads a server with: whatever the bytes, and wherever a
 * read splits them, a decoder yields what a plain reference decoder (written here from the
 * specification, on the whole input at once) yields, or fails with a named error code; it never
 * throws anything else. The streaming decoders are fed the same input whole and cut at random
 * points, and must agree.
 */
const RUNS = { numRuns: 300 };

/** `whole` cut at the given points (any numbers: taken modulo its length), in order. */
function cut<T extends string | Buffer>(whole: T, points: readonly number[]): T[] {
  const at = [...new Set(points.map((p) => (whole.length === 0 ? 0 : p % (whole.length + 1))))].sort((a, b) => a - b);
  const parts: T[] = [];
  let from = 0;
  for (const point of at) {
    parts.push(whole.slice(from, point) as T);
    from = point;
  }
  parts.push(whole.slice(from) as T);
  return parts;
}
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('SSE (clients/sse-parser.ts)', () => {
  /** The event-stream interpretation of the HTML standard, on a whole text: only complete lines count. */
  function referenceSse(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let type = '';
    let data: string[] | null = null;
    let lastEventId = '';
    for (const match of text.matchAll(/([^\r\n]*)(\r\n|\r|\n)/g)) {
      const line = match[1]!;
      if (line === '') {
        if (data !== null) events.push({ type: type || 'message', data: data.join('\n'), lastEventId });
        type = '';
        data = null;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') (data ??= []).push(value);
      else if (field === 'event') type = value;
      else if (field === 'id' && !value.includes('\0')) lastEventId = value;
    }
    return events;
  }
  const parse = (parts: readonly string[]): SseEvent[] => {
    const events: SseEvent[] = [];
    const parser = new SseParser((event) => events.push(event));
    for (const part of parts) parser.feed(part);
    expect(parser.broken).toBeNull();
    return events;
  };
  const streamText = fc.oneof(
    fc.string({ unit: fc.constantFrom('d', 'a', 't', 'e', 'v', 'n', 'i', ':', ' ', '\n', '\r', 'x', 'é', '\0'), maxLength: 300 }),
    // Pieces of fields in any order: empty values, no colon, ids with NUL, bare CRs.
    fc.array(fc.constantFrom('data', 'data:', 'data: ', 'event:', 'event: gap', 'id:', 'id: 7', 'retry: 5', ':', ' ', 'x', 'é', '\0', '\n', '\r', '\r\n'), { maxLength: 40 }).map((t) => t.join('')),
  );

  it('reads any text as the standard does, however it is split', () => {
    fc.assert(fc.property(streamText, cuts, (text, points) => {
      expect(parse(cut(text, points))).toEqual(referenceSse(text));
    }), RUNS);
  });

  it('reads back events written with any line ending, comments and fields', () => {
    const event = fc.record({ type: fc.constantFrom('', 'message', 'gap'), data: fc.array(fc.string({ unit: fc.constantFrom('a', ' ', ':', 'é', '😀') }), { minLength: 1, maxLength: 3 }), id: fc.string({ unit: 'grapheme-ascii', maxLength: 5 }).filter((s) => !/[\r\n]/.test(s)) });
    fc.assert(fc.property(fc.array(event, { maxLength: 5 }), fc.constantFrom('\n', '\r', '\r\n'), cuts, (events, eol, points) => {
      const text = events.map((e) => `: comment${eol}${e.type ? `event: ${e.type}${eol}` : ''}id: ${e.id}${eol}${e.data.map((d) => `data: ${d}${eol}`).join('')}${eol}`).join('');
      expect(parse(cut(text, points))).toEqual(referenceSse(text));
      expect(parse([text]).map((e) => e.data)).toEqual(events.map((e) => e.data.join('\n')));
    }), RUNS);
  });
});

describe('WebSocket frames (clients/ws-frames.ts)', () => {
  type Seen = Array<[string, string]>;
  /** Feeds the bytes in parts; what the reader reported, and its failure code if any. */
  function read(parts: readonly Buffer[]): { seen: Seen; failed: string | null } {
    const seen: Seen = [];
    let failed: string | null = null;
    const reader = new FrameReader({
      text: (text) => seen.push(['text', text]),
      binary: (payload) => seen.push(['binary', Buffer.from(payload).toString('hex')]),
      ping: (payload) => seen.push(['ping', payload.toString('hex')]),
      close: (code, reason) => seen.push(['close', `${code} ${reason}`]),
      fail: (_closeCode, code) => (failed = code),
    });
    for (const part of parts) {
      // A reused read buffer: the reader must not keep a view of it past the call.
      const scratch = Buffer.from(part);
      reader.feed(scratch, 0, scratch.length);
      scratch.fill(0xee);
    }
    return { seen, failed };
  }
  /** A server frame (unmasked), by the RFC. */
  function frame(fin: boolean, opcode: number, payload: Buffer): Buffer {
    const n = payload.length;
    const head = n < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, n]) : n < 65_536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 127, 0, 0, 0, 0]), Buffer.from([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff])]);
    return Buffer.concat([head, payload]);
  }
  const message = fc.oneof(
    fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'binary', maxLength: 300 }), pieces: fc.integer({ min: 1, max: 4 }), pingAfter: fc.boolean() }),
    fc.record({ kind: fc.constant('binary' as const), bytes: fc.uint8Array({ maxLength: 70_000 }), pieces: fc.integer({ min: 1, max: 3 }), pingAfter: fc.boolean() }),
  );

  it('reads back any messages, fragmented anywhere, with pings between fragments, however the reads split them', () => {
    fc.assert(fc.property(fc.array(message, { maxLength: 6 }), cuts, (messages, points) => {
      const frames: Buffer[] = [];
      const expected: Seen = [];
      for (const m of messages) {
        const payload = m.kind === 'text' ? Buffer.from(m.text, 'utf8') : Buffer.from(m.bytes);
        const size = Math.ceil(payload.length / m.pieces) || 1;
        const pieces = cut(payload, Array.from({ length: m.pieces - 1 }, (_, i) => (i + 1) * size));
        pieces.forEach((piece, i) => {
          frames.push(frame(i === pieces.length - 1, i === 0 ? (m.kind === 'text' ? OPCODE.text : OPCODE.binary) : OPCODE.continuation, piece));
          // A control frame may come between the fragments of a message.
          if (m.pingAfter && i < pieces.length - 1) frames.push(frame(true, OPCODE.ping, Buffer.from('p')));
        });
        if (m.pingAfter) expected.push(...pieces.slice(0, -1).map((): [string, string] => ['ping', '70']));
        expected.push([m.kind, m.kind === 'text' ? m.text : payload.toString('hex')]);
      }
      expect(read(cut(Buffer.concat(frames), points))).toEqual({ seen: expected, failed: null });
    }), { numRuns: 100 });
  });

  it('reads any bytes the same however they are split, and fails only with a named code', () => {
    // Random bytes, and frames with any header bits (reserved, masked, control, fragments) and short payloads.
    const anyFrame = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.boolean(), fc.uint8Array({ maxLength: 130 })).map(([first, masked, payload]) => {
      const n = payload.length;
      const head = n < 126 ? [first, (masked ? 0x80 : 0) | n] : [first, (masked ? 0x80 : 0) | 126, 0, n];
      return Buffer.concat([Buffer.from(head), masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0), Buffer.from(payload)]);
    });
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.array(anyFrame, { maxLength: 6 }).map((frames) => Buffer.concat(frames)));
    fc.assert(fc.property(input, cuts, (bytes, points) => {
      const whole = read([Buffer.from(bytes)]);
      expect(read(cut(Buffer.from(bytes), points))).toEqual(whole);
      if (whole.failed !== null) expect(whole.failed).toMatch(/^WS_ERR_[A-Z0-9_]+$/);
    }), RUNS);
  });
});

describe('STOMP frames (core/stomp-frames.ts)', () => {
  /** Frames and the failure code, fed in parts; frames read before a bad one are kept. */
  function read(parts: readonly string[]): { frames: StompFrame[]; failed: string | null } {
    const parser = new FrameParser();
    const frames: StompFrame[] = [];
    for (const part of parts) {
      try {
        frames.push(...parser.push(part));
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        frames.push(...error.frames);
        return { frames, failed: error.code };
      }
    }
    return { frames, failed: null };
  }
  const headerText = fc.string({ unit: fc.constantFrom('a', 'b', ':', '\\', '\n', '\r', 'é', ' '), minLength: 1, maxLength: 8 });
  const stompFrame = fc.record({
    command: fc.constantFrom('MESSAGE', 'RECEIPT', 'ERROR'),
    headers: fc.dictionary(headerText, headerText, { maxKeys: 3 }).map((h) => Object.fromEntries(Object.entries(h).filter(([name]) => name !== 'content-length'))),
    body: fc.string({ unit: 'binary', maxLength: 100 }),
    withLength: fc.boolean(),
  });

  it('reads back any frames, with heart-beats between them, however the text is split', () => {
    fc.assert(fc.property(fc.array(stompFrame, { maxLength: 5 }), fc.array(fc.constantFrom('', '\n', '\r\n'), { minLength: 5, maxLength: 5 }), cuts, (frames, beats, points) => {
      // A body may hold NUL only when its content-length says where it ends.
      const sent = frames.map((f) => ({ ...f, body: f.withLength ? f.body : f.body.replaceAll('\0', '') }));
      const text = sent.map((f, i) => `${beats[i]}${serializeFrame(f.command, f.withLength ? { ...f.headers, 'content-length': Buffer.byteLength(f.body) } : f.headers, f.body)}`).join('');
      const { frames: read_, failed } = read(cut(text, points));
      expect(failed).toBeNull();
      expect(read_.map((f) => [f.command, f.body, Object.fromEntries(Object.entries(f.headers).filter(([name]) => name !== 'content-length'))])).toEqual(sent.map((f) => [f.command, f.body, f.headers]));
    }), RUNS);
  });

  it('reads any text the same however it is split, and fails only with a named code', () => {
    const text = fc.string({ unit: fc.constantFrom('M', 'E', 'S', 'G', ':', 'a', '\n', '\r', '\0', '\\', 'n', 'c', '5', 'é'), maxLength: 200 });
    // Pieces of frames, good and bad, in any order: whole frames before a bad one, bad lengths, escapes.
    const token = fc.constantFrom('MESSAGE\n', 'a:b\n', 'x:y\\c\n', 'bad line\n', ':novalue\n', '\n', '\r\n', '\0', 'content-length:3\n', 'content-length:x\n', 'body', 'é', '\\q');
    const pieces = fc.array(token, { maxLength: 30 }).map((t) => t.join(''));
    fc.assert(fc.property(fc.oneof(text, pieces), cuts, (input, points) => {
      const whole = read([input]);
      expect(read(cut(input, points))).toEqual(whole);
      if (whole.failed !== null) expect(whole.failed).toMatch(/^STOMP_[A-Z0-9_]+$/);
    }), RUNS);
  });
});

describe('chunked HTTP bodies (clients/http-body.ts)', () => {
  function read(parts: readonly Buffer[]): { body: string; done: boolean; broken: boolean } {
    const kept: Buffer[] = [];
    const reader = new BodyReader({ kind: 'chunked' }, (data, start, end) => kept.push(Buffer.from(data.subarray(start, end))));
    for (const part of parts) {
      if (reader.done || reader.broken) break;
      reader.feed(part, 0, part.length);
    }
    return { body: Buffer.concat(kept).toString('latin1'), done: reader.done, broken: reader.broken };
  }

  it('reads back any body in any chunks, with extensions and trailers, however the reads split it', () => {
    const chunk = fc.record({ bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }), upper: fc.boolean(), extension: fc.boolean(), crlf: fc.boolean() });
    fc.assert(fc.property(fc.array(chunk, { maxLength: 6 }), fc.boolean(), cuts, (chunks, trailer, points) => {
      const parts = chunks.map((c) => {
        const size = c.bytes.length.toString(16);
        const eol = c.crlf ? '\r\n' : '\n';
        return Buffer.concat([Buffer.from(`${c.upper ? size.toUpperCase() : size}${c.extension ? ';name=value' : ''}${eol}`), Buffer.from(c.bytes), Buffer.from(eol)]);
      });
      const wire = Buffer.concat([...parts, Buffer.from(`0\r\n${trailer ? 'x-trailer: 1\r\n' : ''}\r\n`)]);
      const expected = Buffer.concat(chunks.map((c) => Buffer.from(c.bytes))).toString('latin1');
      expect(read(cut(wire, points))).toEqual({ body: expected, done: true, broken: false });
    }), RUNS);
  });

  it('reads any bytes the same however they are split, ending done, broken or waiting', () => {
    const bytes = fc
      .oneof(
        fc.string({ unit: fc.constantFrom('0', '1', 'a', 'F', ';', '\r', '\n', 'x', ' '), maxLength: 120 }),
        fc.array(fc.constantFrom('5\r\n', '5\n', 'hello', '\r\n', '\n', '0\r\n', '3;x=y\r\n', 'abc', 'zz\r\n', 'x-t: 1\r\n', 'g\n'), { maxLength: 20 }).map((t) => t.join('')),
      )
      .map((s) => Buffer.from(s, 'latin1'));
    fc.assert(fc.property(bytes, cuts, (input, points) => {
      expect(read(cut(input, points))).toEqual(read([input]));
    }), RUNS);
  });
});

describe('the marker (core/marker.ts)', () => {
  /** What a marker is, by its layout: `rtb1|run|seq|group|scheduledUs|`, decimal digits, group -1 or more. */
  function referenceMarker(content: string): { runId: string; seq: number; group: number; scheduledUs: number } | null {
    const match = /^rtb1\|([^|]+)\|(\d+)\|(-1|\d+)\|(\d+)\|/.exec(content);
    if (!match) return null;
    const [seq, group, scheduledUs] = [Number(match[2]), Number(match[3]), Number(match[4])];
    if (![seq, group, scheduledUs].every(Number.isSafeInteger)) return null;
    return { runId: match[1]!, seq, group, scheduledUs };
  }

  it('reads back every marker it writes, with any padding', () => {
    const marker = fc.record({ runId: fc.stringMatching(/^[a-z0-9]{1,12}$/), seq: fc.nat(), group: fc.integer({ min: -1, max: 1_000_000 }), scheduledUs: fc.maxSafeNat() });
    fc.assert(fc.property(marker, fc.nat(300), (m, padding) => {
      expect(decodeMarker(encodeMarker(m, padding))).toEqual(m);
    }), RUNS);
  });

  it('reads any content as the layout says, never throwing', () => {
    // Fields of a marker's shape, of characters a number parser might also accept ('1e3', ' 1', '0x1', '+1', '-0').
    const field = fc.string({ unit: fc.constantFrom('1', '0', '9', '-', 'e', '.', ' ', 'x', '+', '|'), maxLength: 6 });
    const content = fc.tuple(field, field, field, field, field).map((fields) => `rtb1|${fields.join('|')}|`);
    fc.assert(fc.property(fc.oneof(content, fc.string()), (text) => {
      expect(decodeMarker(text)).toEqual(referenceMarker(text));
    }), { numRuns: 2000 });
  });
});
