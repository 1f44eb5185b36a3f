/** A problem in a definition file, pointing at its source as oto's parser does. */
export interface DefinitionProblem {
  file: string;
  line: number;
  reason: string;
}

/** Every problem found in one parse, so a user fixes them all in one go. */
export class DefinitionError extends Error {
  override readonly name = 'DefinitionError';
  readonly problems: DefinitionProblem[];

  constructor(problems: DefinitionProblem[]) {
    super(problems.map((problem) => `${problem.file}:${problem.line}: ${problem.reason}`).join('\n'));
    this.problems = problems;
  }
}
