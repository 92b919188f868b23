/**
 * A plugin's name as a title for people: "filelister" reads "File Lister".
 * Words are split at "-" and "_" and before a common trailing word, and a
 * short first word that abbreviates the plugin's language is spelled out
 * ("golister" in Go is the "Go Lister", "pylelister" in Python the "Python Lister").
 */
import type { PluginLanguage } from '../../manager/language.js';

/** Words plugin names tend to end in. */
const TRAILING_WORDS = ['lister', 'demo', 'plugin', 'server', 'client', 'viewer', 'runner', 'watcher', 'reader', 'writer', 'checker', 'store'];

const LANGUAGE_NAMES: Record<PluginLanguage, string> = { typescript: 'TypeScript', javascript: 'JavaScript', go: 'Go', python: 'Python', native: 'Native' };

export function pluginTitle(name: string, language?: PluginLanguage): string {
  const words = name
    .split(/[-_]+/)
    .filter(Boolean)
    .flatMap(splitTrailingWord)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  const first = words[0]?.toLowerCase();
  if (first && language && language !== 'native' && words.length > 1 && first.length <= 4 && first.slice(0, 2) === language.slice(0, 2)) words[0] = LANGUAGE_NAMES[language];
  return words.join(' ');
}

function splitTrailingWord(word: string): string[] {
  const trailing = TRAILING_WORDS.find((t) => word.length > t.length && word.endsWith(t));
  return trailing ? [word.slice(0, -trailing.length), trailing] : [word];
}

export function languageName(language: PluginLanguage): string {
  return LANGUAGE_NAMES[language];
}
