// An HTTPS fake Microsoft Entra token endpoint, run in a worker thread: preview2-shim's wasi:http
// client blocks the main thread while a request is in flight, so a server there could not answer.
//
// It records every request and answers like Entra: a token for a well-formed client-credentials
// request with a client assertion, AADSTS errors otherwise, or a scripted answer when one is queued.
// The main thread talks to it with messages: {script: answer}, {requests: true}.

import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const requests = [];
const scripted = [];
let issued = 0;

const server = createServer(
  { cert: readFileSync(workerData.cert), key: readFileSync(workerData.key) },
  (request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded = {
        method: request.method,
        path: request.url,
        headers: request.headers,
        form: Object.fromEntries(new URLSearchParams(body)),
      };
      requests.push(recorded);
      const answer = scripted.shift() ?? answerLikeEntra(recorded);
      response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(answer.body));
    });
  },
);

function answerLikeEntra(request) {
  const tenant = request.path.match(/^\/([^/]+)\/oauth2\/v2\.0\/token$/)?.[1];
  const form = request.form;
  if (request.method !== 'POST' || !tenant) {
    return entraError(404, 'invalid_request', 90002, `Tenant not found for ${request.path}`);
  }
  if (form.grant_type !== 'client_credentials'
    || form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
    || !form.client_assertion || !form.client_id || !form.scope) {
    return entraError(400, 'invalid_request', 900144, 'The request body must contain a client assertion.');
  }
  issued += 1;
  return {
    status: 200,
    body: {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: `fake-node-token-${issued}`,
    },
  };
}

function entraError(status, error, code, description) {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description}`,
      error_codes: [code],
      timestamp: '2026-11-28 00:00:00Z',
      trace_id: '0b1e7a52-0000-4000-8000-0000000000aa',
      correlation_id: '6f2c1d3e-0000-4000-8000-0000000000bb',
    },
  };
}

parentPort.on('message', (message) => {
  if (message.script) {
    scripted.push(message.script);
    parentPort.postMessage({ scripted: scripted.length });
  } else if (message.requests) {
    parentPort.postMessage({ requests });
  } else if (message.close) {
    server.close();
    parentPort.close();
  }
});

server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
