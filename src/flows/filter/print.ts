import type { FilterNode } from './ast.js';

const BARE = /^[^\s()&|~!"'][^\s()&|]*$/;

/** A value as it must be written to read back the same: bare when it can be, else quoted. */
export function printValue(v: string): string {
  return BARE.test(v) ? v : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The canonical text of a tree: explicit `&`, parentheses only where the tree needs them.
 * parseFilter(printFilter(t)) gives t back (a property test holds it to that).
 */
export function printFilter(node: FilterNode): string {
  switch (node.type) {
    case 'or':
      return `${printFilter(node.left)} | ${wrap(node.right, node.right.type === 'or')}`;
    case 'and':
      return `${wrap(node.left, node.left.type === 'or')} & ${wrap(node.right, node.right.type === 'or' || node.right.type === 'and')}`;
    case 'not':
      return `!${wrap(node.operand, node.operand.type === 'or' || node.operand.type === 'and')}`;
    case 'filter':
      return [`~${node.name}`, ...node.args.map(printValue)].join(' ');
    case 'text':
      return printValue(node.text);
  }
}

function wrap(node: FilterNode, parens: boolean): string {
  return parens ? `(${printFilter(node)})` : printFilter(node);
}
