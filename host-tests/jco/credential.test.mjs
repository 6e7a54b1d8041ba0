// The credential component transpiled by jco, in Node.js with preview2-shim: a host that is not
// wasmtime. Its wasi:http requests go over real TLS to the fake Entra in fake-entra.mjs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { _setEnv } from '@bytecodealliance/preview2-shim/cli';
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '5b0a9b3e-61a5-4d7e-9f0e-6c1d2e3f4a5b';
const ASSERTION =
  'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bm9kZTpub2RlIn0.c2lnbmF0dXJl';
const VAULT = 'https://vault.azure.net/.default';
const STORAGE = 'https://storage.azure.com/.default';
// Where AKS mounts the projected service-account token.
const TOKEN_DIR = '/var/run/secrets/azure/tokens';
const TOKEN_FILE = `${TOKEN_DIR}/azure-identity-token`;
const NO_REQUEST_OPTIONS = { enableCae: false };

let fakeEntra;
let tokenDir;
let credential;

/** Sends `message` to the fake Entra and waits for its reply. */
async function ask(message) {
  fakeEntra.postMessage(message);
  const [reply] = await once(fakeEntra, 'message');
  return reply;
}

async function entraRequests() {
  return (await ask({ requests: true })).requests;
}

/** Calls `f`, which must fail with a credential-error; returns {tag, val}. */
function credentialError(f) {
  try {
    f();
  } catch (error) {
    assert.ok(error.payload, `not a component error: ${error}`);
    const text = JSON.stringify(error.payload, (_, v) => (typeof v === 'bigint' ? `${v}` : v));
    assert.ok(!text.includes(ASSERTION), `the assertion leaked into ${text}`);
    return error.payload;
  }
  assert.fail('expected a credential-error');
}

before(async () => {
  fakeEntra = new Worker(new URL('./fake-entra.mjs', import.meta.url), {
    workerData: { cert: process.env.FAKE_ENTRA_CERT, key: process.env.FAKE_ENTRA_KEY },
  });
  const [{ port }] = await once(fakeEntra, 'message');
  tokenDir = mkdtempSync(join(tmpdir(), 'aks-token-'));
  writeFileSync(join(tokenDir, 'azure-identity-token'), `${ASSERTION}\n`);
  // What the AKS webhook injects, and the token directory granted where AKS mounts it.
  _setPreopens({ [TOKEN_DIR]: tokenDir });
  _setEnv({
    AZURE_TENANT_ID: TENANT,
    AZURE_CLIENT_ID: CLIENT,
    AZURE_FEDERATED_TOKEN_FILE: TOKEN_FILE,
    AZURE_AUTHORITY_HOST: `https://localhost:${port}`,
  });
  ({ credential } = await import('./out/credential.js'));
});

after(async () => {
  fakeEntra.postMessage({ close: true });
  rmSync(tokenDir, { recursive: true, force: true });
});

test('the free get-token exchanges the token file for an access token over HTTPS', async () => {
  const before = BigInt(Math.floor(Date.now() / 1000));
  const token = credential.getToken([VAULT], NO_REQUEST_OPTIONS);
  assert.equal(token.token, 'fake-node-token-1');
  assert.equal(token.tokenType, 'Bearer');
  assert.equal(typeof token.expiresOn, 'bigint');
  assert.ok(token.expiresOn >= before + 3599n && token.expiresOn <= before + 3599n + 60n,
    `expires-on ${token.expiresOn}`);

  const [request] = await entraRequests();
  assert.equal(request.method, 'POST');
  assert.equal(request.path, `/${TENANT}/oauth2/v2.0/token`);
  assert.match(request.headers['content-type'], /^application\/x-www-form-urlencoded/);
  assert.deepEqual(
    { ...request.form, client_assertion: request.form.client_assertion.length },
    {
      client_id: CLIENT,
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: ASSERTION.length,
      scope: VAULT,
    },
  );
  assert.equal(request.form.client_assertion, ASSERTION, 'the file, without its newline');
});

test('a credential resource keeps its tokens across calls', async () => {
  const sent = (await entraRequests()).length;
  const resource = credential.WorkloadIdentityCredential.create({ additionallyAllowedTenants: [] });
  const first = resource.getToken([STORAGE], NO_REQUEST_OPTIONS);
  const second = resource.getToken([STORAGE], NO_REQUEST_OPTIONS);
  assert.equal(second.token, first.token);
  assert.equal((await entraRequests()).length, sent + 1, 'one token request for two calls');
  resource.close();
  const closed = credentialError(() => resource.getToken([STORAGE], NO_REQUEST_OPTIONS));
  assert.equal(closed.tag, 'unavailable');
});

test("Entra's refusal is authentication-failed with its AADSTS code, and no secret", async () => {
  await ask({
    script: {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: `AADSTS70021: No matching federated identity record found for presented assertion. Assertion: ${ASSERTION}`,
        error_codes: [70021],
        trace_id: '0b1e7a52-0000-4000-8000-0000000000aa',
        correlation_id: '6f2c1d3e-0000-4000-8000-0000000000bb',
      },
    },
  });
  const resource = credential.WorkloadIdentityCredential.create({ additionallyAllowedTenants: [] });
  const failure = credentialError(() => resource.getToken([VAULT], NO_REQUEST_OPTIONS));
  assert.equal(failure.tag, 'authentication-failed');
  assert.equal(failure.val.status, 400);
  assert.equal(failure.val.error, 'invalid_request');
  assert.deepEqual(Array.from(failure.val.errorCodes), [70021]);
  assert.equal(failure.val.correlationId, '6f2c1d3e-0000-4000-8000-0000000000bb');
  assert.match(failure.val.message, /AADSTS70021/);
});

test('a token file outside the granted directories is unavailable, naming the grants', () => {
  const resource = credential.WorkloadIdentityCredential.create({
    tokenFilePath: '/elsewhere/token',
    additionallyAllowedTenants: [],
  });
  const failure = credentialError(() => resource.getToken([VAULT], NO_REQUEST_OPTIONS));
  assert.equal(failure.tag, 'unavailable');
  assert.match(failure.val, /\/elsewhere\/token/);
  assert.match(failure.val, new RegExp(TOKEN_DIR));
});

test('bad arguments are invalid-argument, before any request', async () => {
  const sent = (await entraRequests()).length;
  assert.equal(credentialError(() => credential.getToken([], NO_REQUEST_OPTIONS)).tag,
    'invalid-argument');
  assert.equal(
    credentialError(() => credential.getToken([VAULT], { claims: 'not json', enableCae: false }))
      .tag,
    'invalid-argument',
  );
  assert.equal((await entraRequests()).length, sent);
});
