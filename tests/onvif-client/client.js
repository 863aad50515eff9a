#!/usr/bin/env node
// Third-party acceptance client: the npm `onvif` package (pinned in
// package.json) against zaulek-sim. Prints one JSON object on stdout;
// tests/integration/test_onvif_third_party.py asserts on it.
//
//   node client.js --host H --port P --user U --password-file F
//                  [--probe] [--control URL --camera I] [--kind motion]
'use strict';

const fs = require('fs');
const http = require('http');
const { Cam, Discovery } = require('onvif');

function args() {
  const a = { camera: 0, kind: 'motion', probe: false };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--probe') a.probe = true;
    else if (k.startsWith('--')) a[k.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = argv[++i];
  }
  return a;
}

function step(name, fn) {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(new Error(`${name}: ${err.message || err}`)) : resolve(value)));
  });
}

function postJson(url, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(url, { method: 'POST', timeout: 10000,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } },
    (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => (res.statusCode < 300 ? resolve(JSON.parse(text || '{}'))
        : reject(new Error(`control API ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('control API timeout')));
    req.end(data);
  });
}

async function main() {
  const a = args();
  const out = { errors: [] };
  if (a.probe) {
    // Multicast Probe to 239.255.255.250:3702; needs a multicast-capable lo.
    const found = await new Promise((resolve) => {
      Discovery.once('error', (e) => out.errors.push(`discovery: ${e}`));
      Discovery.probe({ timeout: 3000, resolve: false }, (err, cams) => {
        if (err) out.errors.push(`probe: ${err.message || err}`);
        resolve(cams || []);
      });
    });
    out.discovered = found.map((d) => ({
      endpoint: d.probeMatches.probeMatch.endpointReference.address,
      xaddrs: d.probeMatches.probeMatch.XAddrs,
      scopes: String(d.probeMatches.probeMatch.scopes && (d.probeMatches.probeMatch.scopes._ || d.probeMatches.probeMatch.scopes)),
    }));
  }
  if (!a.host) {
    process.stdout.write(JSON.stringify(out) + '\n');
    return;
  }
  const password = a.passwordFile ? fs.readFileSync(a.passwordFile, 'utf8').trim() : undefined;
  const cam = new Cam({ hostname: a.host, port: Number(a.port), username: a.user, password,
    path: '/onvif/device_service', timeout: 15000, autoconnect: false });
  await step('connect', (cb) => cam.connect(cb));
  out.device = await step('getDeviceInformation', (cb) => cam.getDeviceInformation(cb));
  out.profiles = (cam.profiles || []).map((p) => ({
    token: p.$.token, name: p.name,
    encoding: p.videoEncoderConfiguration && p.videoEncoderConfiguration.encoding,
    width: p.videoEncoderConfiguration && p.videoEncoderConfiguration.resolution.width,
    height: p.videoEncoderConfiguration && p.videoEncoderConfiguration.resolution.height,
  }));
  out.video_sources = (cam.videoSources ? [].concat(cam.videoSources) : []).map((v) => v.$ && v.$.token);
  const main = await step('getStreamUri', (cb) => cam.getStreamUri({ protocol: 'RTSP', profileToken: 'main' }, cb));
  const sub = await step('getStreamUri', (cb) => cam.getStreamUri({ protocol: 'RTSP', profileToken: 'sub' }, cb));
  out.stream_uri = { main: main.uri, sub: sub.uri };
  const deviceTime = await step('getSystemDateAndTime', (cb) => cam.getSystemDateAndTime(cb));
  out.device_time = deviceTime.toISOString();
  if (a.control) {
    await step('createPullPointSubscription', (cb) => cam.createPullPointSubscription(cb));
    const fired = await postJson(`${a.control}/sim/cameras/${a.camera}/events`, { kind: a.kind, state: true });
    out.fired = fired;
    const pulled = await step('pullMessages', (cb) => cam.pullMessages({ messageLimit: 10 }, cb));
    const msgs = pulled.notificationMessage ? [].concat(pulled.notificationMessage) : [];
    out.events = msgs.map((m) => {
      const msg = m.message.message;
      const items = (x) => Object.fromEntries([].concat((x && x.simpleItem) || []).map((i) => [i.$.Name, i.$.Value]));
      return { topic: m.topic._, dialect: m.topic.$.Dialect, utc_time: msg.$.UtcTime,
        property_operation: msg.$.PropertyOperation, source: items(msg.source), data: items(msg.data) };
    });
    await step('unsubscribe', (cb) => cam.unsubscribe(cb));
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: e.message }) + '\n');
  process.exit(1);
});
