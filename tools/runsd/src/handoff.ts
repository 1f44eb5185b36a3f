import type { Writable } from 'node:stream';
import type { ResolveContext } from './resolve.js';

/**
 * In the cloud runsd starts the app first and asks the metadata server while
 * the app loads; the answer goes down a pipe on this descriptor of the app,
 * as one JSON document, and the pipe closes. An app that is not Node leaves
 * it unread: runsd's proxy routes for it.
 */
export const contextFd = 3;

/** runsd's end. The app may have exited already; its exit status is what runsd reports then, not the pipe's error. */
export function sendContext(pipe: Writable, context: ResolveContext): void {
  pipe.on('error', () => {});
  pipe.end(JSON.stringify(context));
}

/**
 * The app's end, read in the preload. The socket holds the event loop until
 * runsd writes, so an app whose only work is a call to a service does not
 * exit with the call still waiting for the context.
 */
export function receiveContext(fd: number): Promise<ResolveContext> {
  return new Promise((resolve, reject) => {
    const { Socket } = process.getBuiltinModule('node:net');
    const socket = new Socket({ fd, readable: true, writable: false });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', (error) => reject(new Error(`reading runsd's context failed: ${error.message}`)));
    socket.on('end', () => {
      socket.destroy();
      if (text === '') {
        reject(new Error('runsd stopped before the metadata server told it the region'));
        return;
      }
      try {
        resolve(JSON.parse(text) as ResolveContext);
      } catch {
        reject(new Error(`runsd's context is not JSON: ${text.slice(0, 80)}`));
      }
    });
  });
}
