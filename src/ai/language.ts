import { franc } from 'franc';
import * as stopword from 'stopword';

/** Below this many characters franc's trigram guess is mostly noise. */
const MIN_LANGUAGE_CHARS = 60;
/** franc itself looks at no more than 2048 characters. */
const SAMPLE_CHARS = 4096;

/** franc names some languages by a macrolanguage member; stopword files them under another code. */
const STOPWORD_ALIASES: ReadonlyMap<string, string> = new Map([
  ['cmn', 'zho'],
  ['pes', 'fas'],
  ['prs', 'fas'],
  ['arb', 'ara'],
  ['zlm', 'msa'],
  ['zsm', 'msa'],
  ['ekk', 'est'],
  ['lvs', 'lav'],
  ['swh', 'swa'],
  ['nno', 'nob'],
  ['ckb', 'kur'],
  ['kmr', 'kur'],
]);

/**
 * The package's English list has 108 words (German has 621) and lacks common function words,
 * which then turn up as keywords ("when", "so workflow code"). These fill the gap.
 */
const MORE_ENGLISH = (
  'above across again against almost along already although among around away behind below beside besides beyond ' +
  'does doing done down during either else enough even ever every few further however instead its itself just ' +
  'least less let may maybe mine myself neither no nor not off often once onto ours ourselves own per perhaps quite ' +
  'rather shall she so someone something sometimes soon therefore thus though toward towards until upon us via ' +
  'whatever when whenever whether whom whose why will within without yet yours yourself yourselves themselves ' +
  'herself hers theirs whereas'
).split(' ');

export function detectLanguage(text: string): string {
  const sample = text.slice(0, SAMPLE_CHARS).replace(/\s+/g, ' ').trim();
  return franc(sample, { minLength: MIN_LANGUAGE_CHARS });
}

/** A BCP 47 locale for Intl.Segmenter: ICU knows the ISO 639-3 aliases ('deu' → 'de'); else English. */
export function segmenterLocale(language: string): string {
  if (!/^[a-z]{3}$/.test(language) || language === 'und') return 'en';
  return Intl.Segmenter.supportedLocalesOf(Intl.getCanonicalLocales(language))[0] ?? 'en';
}

/** The stopword package's list for the language, English when it has none. Lower-cased. */
export function stopwordsFor(language: string): ReadonlySet<string> {
  const code = STOPWORD_ALIASES.get(language) ?? language;
  const lists = new Map<string, unknown>(Object.entries(stopword));
  const list = lists.get(code);
  const own = Array.isArray(list) && code !== 'eng' && code !== '_123' ? (list as unknown[]) : undefined;
  const words = own ?? [...stopword.eng, ...MORE_ENGLISH];
  return new Set(words.filter((word): word is string => typeof word === 'string').map((word) => word.toLowerCase()));
}
