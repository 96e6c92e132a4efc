// `*`-only globs: a star matches any run of characters, including none and including "/".
//
// Deliberately not compiled to a RegExp: a regex made from several ".*" can backtrack badly on
// long input, and matching here runs on every issuance against values a client influences. The
// greedy leftmost scan below is linear in the input and allocates nothing.

import type { Glob } from './types.js';

export function compileGlob(source: string): Glob {
  return Object.freeze({ source, pieces: Object.freeze(source.split('*')) });
}

export function globMatches(glob: Glob, value: string): boolean {
  const pieces = glob.pieces;
  const n = pieces.length;
  const first = pieces[0]!;
  if (n === 1) return value === first;
  const last = pieces[n - 1]!;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  // Each middle piece is taken at its leftmost place after the previous one; taking it any later
  // could only leave less room for the rest, so leftmost is never wrong.
  let pos = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < n - 1; i++) {
    const piece = pieces[i]!;
    if (piece.length === 0) continue;
    const at = value.indexOf(piece, pos);
    if (at === -1 || at + piece.length > end) return false;
    pos = at + piece.length;
  }
  return true;
}
