import { nchanProfile } from './nchan.js';
import { rabbitmqProfile } from './rabbitmq.js';
import { referenceProfile } from './reference.js';
import { socketioProfile } from './socketio.js';
import { springChatComparisonProfile, springChatProfile } from './spring-chat.js';
import type { TargetProfile } from './types.js';

/** The built-in target profiles, by name; `--profile <name>` picks one, `--profile ./file.js` loads a user's own. */
export const PROFILES: Readonly<Record<string, TargetProfile<never>>> = Object.fromEntries(
  [referenceProfile, springChatProfile, springChatComparisonProfile, rabbitmqProfile, nchanProfile, socketioProfile].map((profile) => [profile.name, profile as TargetProfile<never>]),
);

export const DEFAULT_PROFILE = referenceProfile.name;

export type { TargetProfile } from './types.js';
