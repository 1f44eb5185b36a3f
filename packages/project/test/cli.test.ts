import { describe, expect, it } from 'vitest';
import { type CommandLine, parseCommandLine } from '../src/cli.js';

const tool = {
  name: 'tool',
  version: '1.2.3',
  usage: 'usage: tool [--dry-run] [--region <region>] <thing>',
  options: { 'dry-run': { type: 'boolean' }, region: { type: 'string', short: 'r' } },
  positionals: true,
} satisfies CommandLine<Record<string, { type: 'boolean' | 'string'; short?: string }>>;

function parse(argv: string[], cli: CommandLine<typeof tool.options> = tool) {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
  };
  return { result: parseCommandLine(cli, argv, io), ...out };
}

describe('parseCommandLine', () => {
  it('reads options, positionals and what follows --', () => {
    expect(parse(['one', '--dry-run', '-r', 'europe-west1', '--', 'node', '--inspect', 'app.js']).result).toEqual({
      values: { 'dry-run': true, region: 'europe-west1' },
      positionals: ['one'],
      rest: ['node', '--inspect', 'app.js'],
    });
    expect(parse(['--region=us-central1', 'one']).result).toEqual({
      values: { region: 'us-central1' },
      positionals: ['one'],
      rest: undefined,
    });
  });

  it.each([['--help'], ['-h']])('prints the usage on stdout for %s and exits 0', (flag) => {
    expect(parse(['one', flag])).toEqual({ result: 0, stdout: `${tool.usage}\n`, stderr: '' });
  });

  it('prints the version on stdout for --version and exits 0', () => {
    expect(parse(['--version'])).toEqual({ result: 0, stdout: 'tool 1.2.3\n', stderr: '' });
  });

  it.each([
    [['--dryrun'], 'unknown option --dryrun; did you mean --dry-run?'],
    [['--dry_run'], 'unknown option --dry_run; did you mean --dry-run?'],
    [['--regoin', 'x'], 'unknown option --regoin'],
    [['--bogus'], 'unknown option --bogus'],
    [['-x'], 'unknown option -x'],
    [['--region'], '--region needs a value'],
    [['-r'], '--region needs a value'],
    [['--region', '--', 'node'], '--region needs a value (write --region=<value> for one that starts with -)'],
    [['--dry-run=yes'], '--dry-run does not take a value'],
  ])('refuses %j with exit 2, the reason and the usage on stderr', (argv, reason) => {
    expect(parse(argv)).toEqual({ result: 2, stdout: '', stderr: `tool: ${reason}\n\n${tool.usage}\n` });
  });

  it('refuses a positional argument when the tool takes none', () => {
    expect(parse(['stray'], { ...tool, positionals: false })).toMatchObject({
      result: 2,
      stderr: `tool: unexpected argument "stray"\n\n${tool.usage}\n`,
    });
  });
});
