/**
 * The filter language's syntax tree. Pure data (no functions, no classes) so that a tree can
 * be printed, compared, sent to a browser, and parse(print(tree)) gives the same tree back.
 */
export type FilterNode =
  | { type: 'and'; left: FilterNode; right: FilterNode }
  | { type: 'or'; left: FilterNode; right: FilterNode }
  | { type: 'not'; operand: FilterNode }
  /** `~name [args]`; args are already checked and normalised (e.g. `~c 4XX` holds "4xx"). */
  | { type: 'filter'; name: string; args: string[] }
  /** A word or quoted string on its own: free text. */
  | { type: 'text'; text: string };

export interface FilterError {
  error: string;
  /** 0-based offset (UTF-16 code units) into the input; input.length means "at the end". */
  position: number;
}

/** `ast: null` is the empty filter (blank input): everything matches. */
export type ParseResult = { ok: true; ast: FilterNode | null } | ({ ok: false } & FilterError);
