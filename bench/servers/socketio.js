'use strict';
/**
 * Socket.IO 4 with its own (engine.io) heartbeat, websocket transport only.
 * Topics are rooms. The heartbeat runs with the same interval and timeout as
 * the other servers in the scenario (pingInterval / pingTimeout), or with
 * Socket.IO's defaults (25 s / 20 s) when none are given.
 *
 * Env: PORT, HOST (127.0.0.1), HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS.
 */
const http = require('node:http');
const { Server } = require('socket.io');

const port = Number(process.env.PORT);
const host = process.env.HOST || '127.0.0.1';
const pingInterval = Number(process.env.HEARTBEAT_INTERVAL_MS) || 25_000;
const pingTimeout = Number(process.env.HEARTBEAT_TIMEOUT_MS) || 20_000;

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, pingInterval, pingTimeout });

io.on('connection', (socket) => {
  socket.emit('welcome', { clientId: socket.id });
  socket.on('ping', (data) => socket.emit('pong', data));
  socket.on('subscribe', (body) => {
    const topic = String(body && body.topic);
    socket.join(topic);
    socket.emit('subscribed', { topic });
  });
  socket.on('publish', (body) => {
    const topic = String(body && body.topic);
    io.to(topic).emit('message', { topic, data: body.data });
  });
});

httpServer.listen(port, host);

globalThis.__benchClientCount = () => io.engine.clientsCount;
