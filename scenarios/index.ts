import { burstScenario } from './burst.js';
import { rampScenario } from './ramp.js';
import { soakScenario } from './soak.js';
import { faultsScenario } from './faults.js';
import { throughputScenario } from './throughput.js';
import type { Scenario } from '../run/scenario.js';

/** The scenario registry: each becomes a `rtbench <name>` command with its own options. */
export const SCENARIOS: readonly Scenario<never>[] = [burstScenario as Scenario<never>, rampScenario as Scenario<never>, soakScenario as Scenario<never>, faultsScenario as Scenario<never>, throughputScenario as Scenario<never>];
