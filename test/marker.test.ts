import { describe, expect, it } from 'vitest';
import { MarkerFields, WARMUP_GROUP, WARMUP_ROUND_GROUP, decodeMarker, encodeMarker, newRunId, readMarker } from '../core/marker.js';

describe('marker', () => {
  const marker = { runId: 'abc12345', seq: 42, group: 7, scheduledUs: 123_456_789_012 };

  it('round-trips identity, group and scheduled time', () => {
    expect(decodeMarker(encodeMarker(marker))).toEqual(marker);
    expect(decodeMarker(encodeMarker({ ...marker, group: WARMUP_GROUP }))?.group).toBe(WARMUP_GROUP);
  });

  it('pads to the asked payload size and still decodes', () => {
    const content = encodeMarker(marker, 500);
    expect(content).toHaveLength(500);
    expect(decodeMarker(content)).toEqual(marker);
    // A payload smaller than the marker never truncates it.
    expect(decodeMarker(encodeMarker(marker, 5))).toEqual(marker);
  });

  it('rejects anything that is not a whole marker', () => {
    for (const content of [
      '', 'hello', 'rtb1|', 'rtb1|run|x|0|5|', 'rtb1|run|1|0|-5|', 'rtb1|run|1|0|5', 'rtb2|run|1|0|5|', 'rtb1|run|1.5|0|5|',
      'rtb1||1|0|5|', 'rtb1|run||0|5|', 'rtb1|run|1||5|', 'rtb1|run|1|0||', 'rtb1|run|-1|0|5|', 'rtb1|run|1|-3|5|', 'rtb1|run|1|-0|5|', 'rtb1|run|1|-12|5|', 'rtb1|run|1|0.5|5|',
      'rtb1|run|9007199254740993|0|5|', 'rtb1|run|1|0|9007199254740993|',
    ]) {
      expect(decodeMarker(content), content).toBeNull();
    }
  });

  it('accepts the edges of the valid ranges: sequence 0, warm-up group, time 0', () => {
    expect(decodeMarker('rtb1|run|0|-1|0|')).toEqual({ runId: 'run', seq: 0, group: WARMUP_GROUP, scheduledUs: 0 });
    expect(decodeMarker('rtb1|run|0|-2|0|')).toEqual({ runId: 'run', seq: 0, group: WARMUP_ROUND_GROUP, scheduledUs: 0 });
    expect(decodeMarker('rtb1|r|3|4|5|....')).toEqual({ runId: 'r', seq: 3, group: 4, scheduledUs: 5 });
    expect(encodeMarker({ runId: 'r', seq: 3, group: 4, scheduledUs: 5 }, 13)).toBe('rtb1|r|3|4|5|');
    expect(encodeMarker({ runId: 'r', seq: 3, group: 4, scheduledUs: 5 }, 14)).toBe('rtb1|r|3|4|5|.');
  });

  it('reads every string as the plain split reading of the layout does, numbers in decimal digits only', () => {
    // The layout read the obvious way; decodeMarker reads it without allocating an array. ' 3',
    // '0x1f', '1e3' or '-0' are not how rtbench writes a number: such content is not a marker.
    const byLayout = (content: string): unknown => {
      if (!content.startsWith('rtb1|')) return null;
      const parts = content.split('|', 6);
      if (parts.length < 6 || parts.slice(1, 5).some((p) => p === '')) return null;
      const decimal = (p: string): number => (/^\d+$/.test(p) ? Number(p) : Number.NaN);
      const [seq, group, scheduledUs] = [decimal(parts[2]!), parts[3] === '-1' || parts[3] === '-2' ? Number(parts[3]) : decimal(parts[3]!), decimal(parts[4]!)];
      if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(group) || group < WARMUP_ROUND_GROUP || !Number.isSafeInteger(scheduledUs) || scheduledUs < 0) return null;
      return { runId: parts[1], seq, group, scheduledUs };
    };
    const fields = ['r', 'run', '', '7', '0', '-1', '-2', ' 3', '0x1f', '1e3', '1.5', 'NaN', '9007199254740993', '-0', '12|', '3', '42', '5', '12', '1', '99'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    let markers = 0;
    for (let i = 0; i < 20_000; i++) {
      let content = next() % 10 === 0 ? 'rtb2|' : 'rtb1|';
      for (let n = 0; n < 5; n++) content += fields[next() % fields.length]! + (next() % 10 === 0 ? '' : '|');
      if (decodeMarker(content) !== null) markers++;
      expect(decodeMarker(content), content).toEqual(byLayout(content));
    }
    // The strings cover both outcomes, not only rejections.
    expect(markers).toBeGreaterThan(500);
    expect(markers).toBeLessThan(19_000);
  });

  it('readMarker fills one reused object, and given a run id reads only that run\'s markers', () => {
    const fields = new MarkerFields();
    const content = encodeMarker({ runId: 'abcd1234', seq: 7, group: 3, scheduledUs: 99 }, 64);
    expect(readMarker(content, fields, 'abcd1234')).toBe('rtb1|abcd1234'.length);
    expect({ ...fields }).toEqual({ seq: 7, group: 3, scheduledUs: 99 });
    // Another run: one whose id is a prefix, one that extends it, one that differs in a character.
    for (const other of ['abcd123', 'abcd12345', 'abcd1235']) expect(readMarker(content, fields, other)).toBe(-1);
    expect(readMarker(encodeMarker({ runId: 'abcd123', seq: 1, group: 1, scheduledUs: 1 }), fields, 'abcd1234')).toBe(-1);
    // Not a marker: fields are left as they were.
    expect(readMarker('rtb1|abcd1234|x|3|99|', fields, 'abcd1234')).toBe(-1);
    expect({ ...fields }).toEqual({ seq: 7, group: 3, scheduledUs: 99 });
    expect(readMarker(content, fields, null)).toBe('rtb1|abcd1234'.length);
  });

  it('makes distinct run ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newRunId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{8}$/);
  });
});
