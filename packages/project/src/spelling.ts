/**
 * Whether a name is a likely misspelling of another: the same letters
 * without dashes, or one edit apart. Behind every "did you mean" here.
 */
export function closeTo(typed: string, option: string): boolean {
  if (typed.replaceAll('-', '') === option.replaceAll('-', '')) return true;
  if (Math.abs(typed.length - option.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < typed.length && j < option.length) {
    if (typed[i] === option[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (typed.length > option.length) i++;
    else if (typed.length < option.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (typed.length - i) + (option.length - j) <= 1;
}

/** The known name the typed one most likely meant, if any. */
export function didYouMean(typed: string, known: Iterable<string>): string | undefined {
  for (const name of known) if (closeTo(typed, name)) return name;
  return undefined;
}
