import { describe, expect, it } from 'vitest';
import { WARMUP_GROUP, decodeMarker, encodeMarker, newRunId } from '../bench/marker.js';

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
    for (const content of ['', 'hello', 'rtb1|', 'rtb1|run|x|0|5|', 'rtb1|run|1|0|-5|', 'rtb1|run|1|0|5', 'rtb2|run|1|0|5|', 'rtb1|run|1.5|0|5|']) {
      expect(decodeMarker(content), content).toBeNull();
    }
  });

  it('makes distinct run ids', () => {
    const ids = new Set(Array.from({ length: 100 }, () => newRunId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]{8}$/);
  });
});
