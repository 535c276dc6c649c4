import { FILTERS } from './filters.js';

export interface FilterHelpEntry {
  syntax: string;
  meaning: string;
  example: string;
}

export const FILTER_OPERATORS =
  '! not, & and (two terms side by side also mean and), | or, ( ) grouping; ! binds tightest, then &, then |. ' +
  'Values are bare words or "quoted strings" (\\" inside quotes), matched as case-insensitive substrings, not regexes. ' +
  'A word on its own searches the URL, method, status, identity, client address and headers (not bodies: use ~b).';

/** What GET api/filter-help answers and the UI's help shows: one line per filter, then free text. */
export function filterHelp(): { entries: FilterHelpEntry[]; operators: string } {
  const entries = Object.values(FILTERS).map(({ syntax, meaning, example }) => ({ syntax, meaning, example }));
  entries.push({ syntax: 'TEXT', meaning: 'free text: URL, method, status, identity, client address or a header line contains TEXT', example: 'checkout' });
  return { entries, operators: FILTER_OPERATORS };
}
