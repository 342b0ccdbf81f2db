import { describe, expect, it } from 'vitest';
import { WARMUP_GROUP, decodeMarker, encodeMarker, newRunId } from '../core/marker.js';

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
      'rtb1||1|0|5|', 'rtb1|run||0|5|', 'rtb1|run|1||5|', 'rtb1|run|1|0||', 'rtb1|run|-1|0|5|', 'rtb1|run|1|-2|5|', 'rtb1|run|1|0.5|5|',
      'rtb1|run|9007199254740993|0|5|', 'rtb1|run|1|0|9007199254740993|',
    ]) {
      expect(decodeMarker(content), content).toBeNull();
    }
  });

  it('accepts the edges of the valid ranges: sequence 0, warm-up group, time 0', () => {
    expect(decodeMarker('rtb1|run|0|-1|0|')).toEqual({ runId: 'run', seq: 0, group: WARMUP_GROUP, scheduledUs: 0 });
    expect(decodeMarker('rtb1|r|3|4|5|....')).toEqual({ runId: 'r', seq: 3, group: 4, scheduledUs: 5 });
    expect(encodeMarker({ runId: 'r', seq: 3, group: 4, scheduledUs: 5 }, 13)).toBe('rtb1|r|3|4|5|');
    expect(encodeMarker({ runId: 'r', seq: 3, group: 4, scheduledUs: 5 }, 14)).toBe('rtb1|r|3|4|5|.');
  });

  it('makes distinct run ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newRunId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{8}$/);
  });
});
