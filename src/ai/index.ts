/**
 * src/ai: the AI providers behind the AiProvider port (language, keywords, summary, chunks);
 * called by the analyse activity in the worker process.
 */
import type { Config } from '../config.js';
import { createLocalAiProvider } from './local.js';
import type { AiProvider } from './provider.js';

/** The provider the config names. */
export function createAiProvider(config: Pick<Config, 'AI_PROVIDER'>): AiProvider {
  switch (config.AI_PROVIDER) {
    case 'local':
      return createLocalAiProvider();
  }
}
