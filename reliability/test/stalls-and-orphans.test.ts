import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, startService } from '@taco-run/project/process';
import { fixtureBundle } from '@taco-run/project/testing';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { children } from './helpers.js';

// Case 8: how tacoserver ends when the world around it misbehaves: clients that stall mid-upload,
// a runsd that is killed outright, and a stdout whose reader goes away. Each ends within bounds,
// by itself, and leaves no process behind.

const root = fileURLToPath(new URL('../../', import.meta.url));
const tacoserver = fixtureBundle('tacoserver');
const runsd = `${root}tools/runsd/dist/runsd.js`;

/** Whether a process is still there (a zombie has exited: it counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return !alive(pid);
}

describe('stalls and orphans', () => {
  it('releases 50 stalled uploads within the request timeout, then drains and exits 0 on SIGTERM', async () => {
    const server = await startService(
      tacoserver,
      { REQUEST_TIMEOUT_SECONDS: '2', LOG_LEVEL: 'warn' },
      { port: await freePort() },
    );
    const sockets: Socket[] = [];
    try {
      const answers = Array.from({ length: 50 }, async () => {
        const socket = connect(server.port, '127.0.0.1');
        sockets.push(socket);
        await once(socket, 'connect');
        // Headers and a length, a few bytes of the body, then nothing.
        socket.write(
          'POST /oto/TacoService.EatTaco HTTP/1.1\r\nhost: tacoserver\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"name":',
        );
        let answer = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => {
          answer += chunk;
        });
        await once(socket, 'close');
        return answer;
      });
      const started = Date.now();
      const released = await Promise.all(answers);
      // Node checks for timed-out requests every quarter of the timeout, so the last may wait that long again.
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(released.every((answer) => answer.startsWith('HTTP/1.1 504 Gateway Timeout\r\n'))).toBe(true);
      expect(released[0]).toContain('{"error":"the request did not arrive within 2 s","code":"deadline_exceeded"}');

      const stopped = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(Date.now() - stopped).toBeLessThan(2_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
    }
  });

  it('answers uploads still stalled when the drain window ends 503 unavailable, and exits 0', {
    timeout: 30_000,
  }, async () => {
    // The default request timeout (290 s) outlasts the drain window: these are still open when it ends.
    // At debug, each request's arrival is logged: the signal comes once all five have arrived.
    const server = await startService(tacoserver, { LOG_LEVEL: 'debug' }, { port: await freePort() });
    const sockets: Socket[] = [];
    const arrived = () => server.lines.filter((line) => line.includes('request from')).length;
    try {
      const connected = Array.from({ length: 5 }, async () => {
        const socket = connect(server.port, '127.0.0.1');
        sockets.push(socket);
        await once(socket, 'connect');
        socket.write(
          'POST /oto/TacoService.EatTaco HTTP/1.1\r\nhost: tacoserver\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"na',
        );
        let answer = '';
        socket.setEncoding('utf8').on('data', (chunk: string) => {
          answer += chunk;
        });
        return { socket, answer: () => answer };
      });
      const uploads = await Promise.all(connected);
      for (let waited = 0; arrived() < 5 && waited < 5_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(arrived()).toBe(5);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      for (const upload of uploads) {
        if (!upload.socket.closed) await once(upload.socket, 'close');
        const answer = upload.answer();
        expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
        expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n');
        expect(answer, answer).toContain('{"error":"tacoserver is stopping","code":"unavailable"}');
      }
      expect(server.lines.some((line) => line.includes('answered 5 open requests 503 unavailable'))).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
    }
  });

  it('answers the first of two pipelined requests still open when the drain window ends, then closes', {
    timeout: 30_000,
  }, async () => {
    // tacoclient waits on an upstream that never answers, so both of its requests are still open at the end of
    // the window. Node holds the second answer until the first is written: the first must be answered, or the
    // client hears nothing at all. Its `connection: close` then tells the client to send the second again.
    let calls = 0;
    const silent = createServer((req) => {
      calls++;
      req.resume();
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const upstream = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/oto/`;
    const client = await startService(
      fixtureBundle('tacoclient'),
      { LOG_LEVEL: 'warn', TACOSERVER_URL: upstream, TACOSERVER_TIMEOUT_MS: '60000' },
      { port: await freePort() },
    );
    const socket = connect(client.port, '127.0.0.1');
    try {
      await once(socket, 'connect');
      let answer = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        answer += chunk;
      });
      const get = 'GET / HTTP/1.1\r\nhost: tacoclient\r\n\r\n';
      socket.write(get + get);
      for (let waited = 0; calls < 2 && waited < 5_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(calls).toBe(2);
      client.child.kill('SIGTERM');
      expect(await client.exited).toBe(0);
      if (!socket.closed) await once(socket, 'close');
      expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(answer.toLowerCase()).toContain('\r\nconnection: close\r\n');
      expect(answer).toContain('{"error":"tacoclient is stopping","code":"unavailable"}');
    } finally {
      socket.destroy();
      await client.stop();
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('stops the app when its runsd is killed outright, and the app drains and exits by itself', async () => {
    const wrapped = await startService(
      tacoserver,
      { RUNSD_SERVICES: 'tacoserver=http://localhost:1' },
      { wrapper: [runsd, '--'] },
    );
    const [app] = children(wrapped.pid);
    try {
      expect(alive(app as number)).toBe(true);
      process.kill(wrapped.pid, 'SIGKILL');
      expect(await gone(app as number, 5_000)).toBe(true);
      expect(wrapped.lines.some((line) => line.includes('SIGTERM: draining'))).toBe(true);
    } finally {
      if (alive(app as number)) process.kill(app as number, 'SIGKILL');
    }
  });

  it('exits within the drain window after load, when the reader of its stdout has gone away', async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, [tacoserver], {
      env: { PATH: process.env.PATH, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      for await (const line of lines) if (line.includes('listening at')) break;
      // Load while it logs two lines a call, so its writes are in full flow when the pipe breaks.
      const agent = new Agent({ connections: 20 });
      let calls = 0;
      const load = Array.from({ length: 20 }, async () => {
        while (calls < 3_000) {
          calls++;
          const response = await request(`http://127.0.0.1:${port}/oto/TacoService.EatTaco`, {
            method: 'POST',
            dispatcher: agent,
            headers: { 'content-type': 'application/json' },
            body: '{"name":"Sammy","tacos":["Chicken"]}',
          });
          await response.body.dump();
        }
      });
      await Promise.all(load);
      await agent.close();
      // The reader goes: every write from now on meets a pipe nobody reads.
      child.stdout?.destroy();
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const ended = await Promise.race([
        exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000)),
      ]);
      expect(ended).toEqual([0, null]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
