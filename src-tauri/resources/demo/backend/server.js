// The demo API: /health checks Redis and MongoDB, /visits counts visits in Redis.
// No dependencies beyond Node itself, so it runs from a bind mount on a stock node image.
'use strict';
const http = require('node:http');
const net = require('node:net');

const port = Number(process.env.PORT || 3000);
const redis = { host: process.env.REDIS_HOST || 'redis', port: 6379 };
const mongo = { host: process.env.MONGO_HOST || 'mongodb', port: 27017 };

function log(level, msg, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}

// Sends one inline Redis command and resolves with the first reply line.
function redisCommand(command) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(redis, () => socket.write(`${command}\r\n`));
    socket.setTimeout(1000, () => socket.destroy(new Error('redis timed out')));
    socket.once('data', (data) => { socket.end(); resolve(data.toString().split('\r\n')[0]); });
    socket.once('error', reject);
  });
}

function reachable(target) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target, () => { socket.end(); resolve('ok'); });
    socket.setTimeout(1000, () => socket.destroy(new Error(`${target.host} timed out`)));
    socket.once('error', reject);
  });
}

const routes = {
  async '/health'() {
    const [r, m] = await Promise.allSettled([redisCommand('PING'), reachable(mongo)]);
    const ok = r.status === 'fulfilled' && r.value === '+PONG' && m.status === 'fulfilled';
    const detail = (s) => (s.status === 'fulfilled' ? 'ok' : s.reason.message);
    return [ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', redis: detail(r), mongodb: detail(m) }];
  },
  async '/visits'() {
    const reply = await redisCommand('INCR berth-demo:visits');
    return [200, { visits: Number(reply.slice(1)) }];
  },
};

const server = http.createServer(async (req, res) => {
  const started = Date.now();
  const route = routes[req.url];
  let [status, body] = [404, { error: `no route ${req.url}` }];
  if (route) {
    try {
      [status, body] = await route();
    } catch (e) {
      [status, body] = [502, { error: e.message }];
    }
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  log(status < 400 ? 'info' : 'warn', `${req.method} ${req.url} ${status}`, { ms: Date.now() - started });
});

server.listen(port, () => log('info', `listening on :${port}`));
process.on('SIGTERM', () => {
  log('info', 'SIGTERM: shutting down');
  server.close(() => process.exit(0));
});
