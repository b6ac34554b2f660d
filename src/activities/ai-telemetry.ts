import { Context } from '@temporalio/activity';
import { trace } from '@opentelemetry/api';
import type { ModelCall } from '../contracts/ai.js';
import type { CallObserver } from './analysis.js';

/**
 * Each model call, counted where the worker's other metrics are (the Temporal runtime's
 * Prometheus endpoint, WORKER_METRICS_ADDRESS) and described on the activity's span with
 * OpenTelemetry's GenAI attributes. The runtime's counters hold integers, so cost is counted in
 * micro-dollars (harvester_ai_cost_microdollars_total); tokens and durations are exact. The
 * runtime adds namespace, taskQueue and activityType to every series.
 */
export function aiCallObserver(): CallObserver {
  return (provider, call) => {
    const meter = Context.current().metricMeter;
    const tags = { provider, model: call.model };
    const tokens = meter.createCounter('harvester_ai_tokens', 'tokens', 'Tokens used by model calls, by kind (prompt, completion, embedding)');
    if (call.kind === 'embedding') tokens.add(call.promptTokens, { ...tags, kind: 'embedding' });
    else {
      tokens.add(call.promptTokens, { ...tags, kind: 'prompt' });
      tokens.add(call.completionTokens, { ...tags, kind: 'completion' });
    }
    if (call.costUsd !== null) {
      meter.createCounter('harvester_ai_cost_microdollars', 'µUSD', 'Cost of model calls from AI_PRICES, in millionths of a US dollar').add(Math.round(call.costUsd * 1e6), tags);
    }
    meter.createHistogram('harvester_ai_call_duration_seconds', 'float', 's', 'Duration of one model call (with its repair call, if any)').record(call.durationMs / 1000, { ...tags, kind: call.kind });
    trace.getActiveSpan()?.setAttributes(genAiAttributes(provider, call));
  };
}

/** The GenAI semantic-convention attributes of one call, and its cost. */
export function genAiAttributes(provider: string, call: ModelCall): Record<string, string | number | boolean> {
  return {
    'gen_ai.system': provider === 'openai-compatible' ? 'openai' : provider,
    'gen_ai.operation.name': call.kind === 'embedding' ? 'embeddings' : 'chat',
    'gen_ai.request.model': call.model,
    'gen_ai.usage.input_tokens': call.promptTokens,
    ...(call.kind === 'embedding' ? {} : { 'gen_ai.usage.output_tokens': call.completionTokens }),
    'harvester.ai.call_kind': call.kind,
    ...(call.costUsd === null ? {} : { 'harvester.ai.cost_usd': call.costUsd }),
    ...(call.repaired ? { 'harvester.ai.repaired': true } : {}),
  };
}
