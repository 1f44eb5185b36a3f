import { parseArgs } from 'node:util';
import { didYouMean } from './spelling.js';

/**
 * The command-line convention every tool of the project follows, on
 * `node:util`'s parseArgs (built in, so it costs nothing at start-up):
 * - `--help` / `-h` prints the usage on stdout and exits 0; `--version` prints the version;
 * - an unknown option, a missing value or a stray argument prints what is
 *   wrong and the usage on stderr, exits 2, and does nothing else.
 */
export interface CommandLine<O extends Options> {
  /** How the tool is called, as its messages begin: `runsd`, `otogen`. */
  name: string;
  version: string;
  usage: string;
  /** The tool's own options; `--help`, `-h` and `--version` are added. */
  options: O;
  /** Whether positional arguments are allowed at all; which ones make sense is the tool's to check. */
  positionals?: boolean;
}

/** An option: a flag, or one that takes a value; `short` is its one-letter alias. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string;
}

export type Options = Record<string, OptionSpec>;

export interface ParsedCommandLine<O extends Options> {
  values: OptionValues<O>;
  /** Positional arguments before a `--`. */
  positionals: string[];
  /** Everything after the first `--`, as given: a command to run, say. Undefined when there was no `--`. */
  rest: string[] | undefined;
}

type OptionValues<O extends Options> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : string;
};

/**
 * Parses `argv` (without node and the script) by the convention above. Returns
 * the arguments, or the exit code when there is nothing left to do: the help or
 * the version was printed (0), or a mistake was reported (2).
 */
export function parseCommandLine<O extends Options>(
  cli: CommandLine<O>,
  argv: readonly string[],
  io: Output = process,
): ParsedCommandLine<O> | number {
  const options: Options = { ...cli.options, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } };
  let parsed: { values: Record<string, string | boolean | undefined>; tokens: Token[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true, tokens: true });
  } catch (error) {
    return reportUsageError(cli, describeParseError(error, Object.keys(options)), io);
  }
  const { values, tokens } = parsed;
  if (values.help) {
    io.stdout.write(`${cli.usage}\n`);
    return 0;
  }
  if (values.version) {
    io.stdout.write(`${cli.name} ${cli.version}\n`);
    return 0;
  }
  const terminator = tokens.find((token) => token.kind === 'option-terminator');
  const positionals = tokens.flatMap((token) =>
    token.kind === 'positional' && (terminator === undefined || token.index < terminator.index) ? [token.value] : [],
  );
  if (!cli.positionals && positionals.length > 0) {
    return reportUsageError(cli, `unexpected argument "${positionals[0]}"`, io);
  }
  const rest = terminator === undefined ? undefined : argv.slice(terminator.index + 1);
  return { values: values as OptionValues<O>, positionals, rest };
}

type Token =
  | { kind: 'option' | 'option-terminator'; index: number }
  | { kind: 'positional'; index: number; value: string };

/** Reports a mistake by the convention: what is wrong and the usage, on stderr. Returns the exit code, 2. */
export function reportUsageError(
  cli: Pick<CommandLine<Options>, 'name' | 'usage'>,
  message: string,
  io: Output = process,
): number {
  io.stderr.write(`${cli.name}: ${message}\n\n${cli.usage}\n`);
  return 2;
}

/** Where the help and the mistakes go: the process's own streams, or a test's. */
export interface Output {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** parseArgs's messages, shortened, with a suggestion for a misspelt option (`--dryrun`: did you mean `--dry-run`?). */
function describeParseError(error: unknown, known: readonly string[]): string {
  const { code, message } = error as { code?: string; message: string };
  if (!code?.startsWith('ERR_PARSE_ARGS_')) throw error;
  // The long spelling, from parseArgs's own quote of the option: '-r, --region <value>' or '--dryrun'.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const option = /--[^\s,=]+/.exec(quoted)?.[0] ?? quoted;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const near = didYouMean(option.replace(/^-+/, ''), known);
    return `unknown option ${option}${near === undefined ? '' : `; did you mean --${near}?`}`;
  }
  if (message.includes('argument missing')) return `${option} needs a value`;
  if (message.includes('ambiguous'))
    return `${option} needs a value (write ${option}=<value> for one that starts with -)`;
  if (message.includes('does not take an argument')) return `${option} does not take a value`;
  return message;
}
