// Work per request, counted in instructions by valgrind's callgrind rather than timed. On a shared
// VM a rate moves by a third between runs of the same code (see docs/benchmarks.md, "Run-to-run variation");
// an instruction count of the same bundle, inputs and Node repeats to within about one percent whatever else the
// machine does, so it shows a change of a few percent that the rates cannot. It counts what a process executes
// in user space, not the kernel's work for it (its sockets, its pipe to the log reader), nor time spent waiting:
// a companion to the rates, not a replacement. Servers only: a client's count depends on how its answers arrive,
// several to a read or one, which follows the timing of each run (the same client counted 152k and 168k
// instructions a call over two stretches of one run).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { startService } from '@taco-run/project/process';
import { Pool } from 'undici';

/** Why instructions cannot be counted here, or undefined if they can. */
export function callgrindMissing(): string | undefined {
  for (const tool of ['valgrind', 'callgrind_control']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      return `${tool} is not on PATH (Debian: apt-get install valgrind)`;
    }
  }
  return undefined;
}

/** The instructions a callgrind output file counted, which it writes when its process exits. */
function totalInstructions(out: string): number {
  const totals = /^totals: (\d+)/m.exec(readFileSync(out, 'utf8'));
  if (totals?.[1] === undefined) throw new Error(`${out} has no totals line`);
  return Number(totals[1]);
}

export interface ServerCount {
  node: string;
  bundle: string;
  env: Record<string, string>;
  port: number;
  /** Where callgrind writes its counts. */
  out: string;
  /** POSTs to the route before counting, for V8 to compile the hot path: under callgrind that takes thousands. */
  warm: number;
  counted: number;
  path: string;
  body: string;
  /** Sent with every request besides the content type and a user agent. */
  headers?: Record<string, string>;
}

/**
 * A server's instructions per request: the server under callgrind with counting off, its stdout a pipe to a
 * process of its own that drains it (as the rates' rows run it), `warm` requests, then counting on for
 * `counted` more from 16 connections, so that, as under load, one turn of its event loop handles several.
 */
export async function serverInstructionsPerRequest(options: ServerCount): Promise<number> {
  const { node, bundle, env, port, out, warm, counted, path, body, headers = {} } = options;
  rmSync(out, { force: true });
  // `--single-threaded` keeps V8's compiler and garbage collector on the main thread, where callgrind counts them
  // with the rest; otherwise their work would depend on how threads happened to share it.
  const server = await startService(bundle, env, {
    runner: [
      'valgrind',
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${out}`,
      node,
      '--single-threaded',
    ],
    port,
    stdout: 'drain',
    startTimeoutMs: 60_000,
  });
  const pool = new Pool(server.origin, { connections: 16 });
  try {
    const post = async (count: number) => {
      let left = count;
      const connection = async () => {
        while (left-- > 0) {
          const response = await pool.request({
            path,
            method: 'POST',
            body,
            headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'bench-counted/1' },
          });
          const text = await response.body.text();
          if (response.statusCode !== 200) throw new Error(`${bundle} answered ${response.statusCode}: ${text}`);
        }
      };
      await Promise.all(Array.from({ length: 16 }, connection));
    };
    await post(warm);
    execFileSync('callgrind_control', ['--instr=on', String(server.pid)], { stdio: 'ignore' });
    await post(counted);
    execFileSync('callgrind_control', ['--instr=off', String(server.pid)], { stdio: 'ignore' });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${server.stderr.slice(-20).join('\n')}`);
  } finally {
    await pool.close();
    await server.stop();
  }
  return (totalInstructions(out) - dateFormatting(out)) / counted;
}

/**
 * What `Date.prototype.toISOString` cost, all calls included. A service formats its log lines' time once a
 * millisecond, which under load is once per dozens of lines; callgrind runs it some fifty times slower, so
 * nearly every line got a new millisecond and paid for it. Left out of the count, as load would amortize it.
 */
function dateFormatting(out: string): number {
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', out], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = /^\s*([\d,]+) .*Builtin_DatePrototypeToISOString\b/m.exec(annotated);
  return line?.[1] === undefined ? 0 : Number(line[1].replaceAll(',', ''));
}
