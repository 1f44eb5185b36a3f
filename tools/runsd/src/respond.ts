import type { Dispatcher } from 'undici';

/**
 * Answers a request runsd cannot send (an unresolvable name, no token) with
 * a text response the app can read, rather than a network error it cannot
 * tell from a dead server. undici has two handler styles, Node's own fetch
 * uses the older one, so both are spoken.
 */
export function respondText(
  handler: Dispatcher.DispatchHandler,
  status: number,
  message: string,
  statusText: string,
): void {
  const body = Buffer.from(message);
  const legacy = handler as LegacyHandler;
  if (typeof legacy.onConnect === 'function' || typeof legacy.onHeaders === 'function') {
    legacy.onConnect?.(() => {});
    const raw = [
      Buffer.from('content-type'),
      Buffer.from('text/plain; charset=utf-8'),
      Buffer.from('content-length'),
      Buffer.from(String(body.length)),
    ];
    legacy.onHeaders?.(status, raw, () => {}, statusText);
    legacy.onData?.(body);
    legacy.onComplete?.([]);
    return;
  }
  const controller = {
    abort() {},
    pause() {},
    resume() {},
    aborted: false,
    paused: false,
    reason: null,
  } as unknown as Dispatcher.DispatchController;
  handler.onRequestStart?.(controller, {});
  handler.onResponseStart?.(
    controller,
    status,
    { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length) },
    statusText,
  );
  handler.onResponseData?.(controller, body);
  handler.onResponseEnd?.(controller, {});
}

interface LegacyHandler {
  onConnect?(abort: () => void): void;
  onHeaders?(status: number, headers: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Buffer[]): void;
}
