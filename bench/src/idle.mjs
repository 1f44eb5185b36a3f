// A do-nothing app for runsd to wrap in the bench, so its proxy can be loaded on its own.
// It prints the line the harness waits for (it listens nowhere) and then idles until SIGTERM.
process.stdout.write(`listening at http://127.0.0.1:${process.env.RUNSD_PROXY_PORT}\n`);
setInterval(() => {}, 1 << 30);
process.on('SIGTERM', () => process.exit(0));
