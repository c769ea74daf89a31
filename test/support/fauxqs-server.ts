// Child-process entry for tests: runs fauxqs on an OS-chosen loopback-reachable port and reports it on stdout.
import { startFauxqs } from 'fauxqs';

// The fauxqs CLI forces request logging on and needs a port chosen in advance; the library takes port 0.
const server = await startFauxqs({ port: 0, logger: false });
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

// The parent holds our stdin: when it ends (stop(), or the parent died in any way) we exit, so no server is left behind.
const exit = () => process.exit(0);
process.stdin.on('end', exit);
process.stdin.on('error', exit);
process.stdin.resume();
process.on('SIGTERM', exit);
process.on('SIGINT', exit);
