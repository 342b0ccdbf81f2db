import { encodeHistogram, newHistogram } from '../core/histogram.js';
import { NO_OWN_DELAY } from '../core/own-delay.js';
import type { PlannedMessage } from '../load/recorder.js';
import { Recorder } from '../load/recorder.js';
import type { ConnectReply, ConnectionStatus, StepReply, ToWorker } from '../load/worker/protocol.js';

/** The error code a dead agent's subscribers and deliveries are counted under. */
export const AGENT_LOST = 'AGENT_LOST';

/** What the coordinator knows of a thread on an agent: enough to account for it once the agent is gone. */
export interface MemberLedger {
  readonly runId: string;
  /** Room of every subscriber the thread said it held. */
  readonly heldRooms: readonly number[];
  /** The round being measured, if any. */
  readonly measured: { readonly plan: readonly PlannedMessage[]; readonly startUs: number; readonly deadlineUs: number } | null;
}

/**
 * The answer a thread on a dead agent would owe, written by the coordinator instead: subscribers it
 * was asked to open are failed connections, every delivery it was expected to receive is lost, and
 * its held subscribers are disconnected. So a dead agent is counted, never dropped from the totals.
 */
export function lostReply(request: ToWorker, ledger: MemberLedger): unknown {
  const held = ledger.heldRooms.length;
  switch (request.type) {
    case 'connect':
      return {
        ok: 0,
        okByRoom: {},
        failed: request.subscribers.length > 0 ? { [AGENT_LOST]: request.subscribers.length } : {},
        connectHistogram: encodeHistogram(newHistogram()),
        connected: 0,
      } satisfies ConnectReply;
    case 'warm-status':
      return { warmed: 0, held: 0 };
    case 'wait-complete':
      return true;
    case 'result':
      return lostStep(request.attempted, ledger);
    case 'status':
      return {
        held,
        connected: 0,
        disconnects: held,
        reconnects: 0,
        failedAttempts: 0,
        gaps: 0,
        sends: 0,
        lastOpenedUs: 0,
        errors: held > 0 ? { [AGENT_LOST]: held } : {},
      } satisfies ConnectionStatus;
    case 'heap':
      return 0;
    default:
      return null;
  }
}

function lostStep(attempted: readonly number[], ledger: MemberLedger): StepReply {
  const measured = ledger.measured ?? { plan: [], startUs: 0, deadlineUs: 1 };
  const recorder = new Recorder({ runId: ledger.runId, plan: measured.plan, deadlineUs: measured.deadlineUs, subscriberRooms: ledger.heldRooms });
  recorder.begin(measured.startUs);
  for (const seq of attempted) recorder.markAttempted(seq);
  // Judged as if every deadline had passed: nothing more can arrive from a process that is gone.
  const result = recorder.result(Number.MAX_SAFE_INTEGER);
  // Counted per subscriber, as the connection status counts it; the deliveries are in `lost`.
  const held = ledger.heldRooms.length;
  return {
    result: { ...result, errors: held > 0 ? { ...result.errors, [`subscriber:${AGENT_LOST}`]: held } : result.errors },
    firstUs: new Float64Array(0),
    lastUs: new Float64Array(0),
    count: new Uint32Array(0),
    connected: 0,
    reconnects: 0,
    gaps: 0,
    sends: 0,
    ownDelay: NO_OWN_DELAY,
  };
}
