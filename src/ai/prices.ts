/** USD per million tokens, by model (AI_PRICES). */
export type PriceTable = Readonly<Record<string, { input: number; output: number }>>;

/** The cost of one call in USD, or null when the model has no price. */
export function costOf(prices: PriceTable, model: string, promptTokens: number, completionTokens: number): number | null {
  const price = prices[model];
  if (price === undefined) return null;
  return (promptTokens * price.input + completionTokens * price.output) / 1e6;
}
