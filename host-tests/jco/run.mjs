// Transpiles the credential component with jco, makes a throw-away certificate authority for the
// HTTPS fake Microsoft Entra, and runs the tests under Node's test runner with that authority
// trusted through NODE_EXTRA_CA_CERTS (Node reads it only at start-up, hence a child process).
//
//   AZURE_WORKLOAD_IDENTITY_COMPONENT=…/azure_workload_identity.wasm npm test

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const component = process.env.AZURE_WORKLOAD_IDENTITY_COMPONENT;
if (!component) {
  console.error('set AZURE_WORKLOAD_IDENTITY_COMPONENT to the built credential component (.wasm)');
  process.exit(2);
}

const out = join(here, 'out');
rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(here, 'node_modules/@bytecodealliance/jco/dist/jco.js'), 'transpile', component,
    '-o', out, '--name', 'credential', '--quiet'],
  { stdio: 'inherit' },
);

const tls = mkdtempSync(join(tmpdir(), 'fake-entra-tls-'));
try {
  // A self-signed certificate for localhost is its own certificate authority.
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'),
  ], { stdio: 'pipe' });
  const run = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=spec', join(here, 'credential.test.mjs')],
    {
      stdio: 'inherit',
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: join(tls, 'cert.pem'),
        FAKE_ENTRA_CERT: join(tls, 'cert.pem'),
        FAKE_ENTRA_KEY: join(tls, 'key.pem'),
      },
    },
  );
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(tls, { recursive: true, force: true });
}
