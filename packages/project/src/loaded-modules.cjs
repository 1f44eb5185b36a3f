// Preloaded by tests (node -r, or NODE_OPTIONS=--require) into a process whose start-up must stay
// light: on exit it says which of Node's heavier builtins it loaded, and which script it ran, so
// that a change that loads one at start-up again fails the test that reads the line.
process.on('exit', () => {
  const heavy = process.moduleLoadList
    .filter((name) => /^NativeModule (undici|https|http2|tls|crypto)$|internal\/deps\/undici/.test(name))
    .map((name) => name.replace(/^NativeModule /, ''));
  process.stderr.write(`${require('node:path').basename(process.argv[1] ?? '')} loaded: ${JSON.stringify(heavy)}\n`);
});
