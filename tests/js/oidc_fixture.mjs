// A real OpenID provider (oidc-provider) for the OAuth tests, on free loopback ports.
//
// Usage: node oidc_fixture.mjs '<json>' where json is {"resource": "<our /mcp URL>"}.
// Starts two issuers: "main" (the one the server trusts) and "other" (same clients and resource, its own
// keys), prints one JSON line {"main": "<issuer>", "other": "<issuer>"} once both listen, and serves until
// stdin closes or it gets SIGTERM.
//
// Clients of each issuer:
//   machine  client_credentials, every clientary scope           (JWT access tokens)
//   reader   client_credentials, at most clientary:read           (JWT access tokens)
//   brief    client_credentials, every scope, 2-second tokens     (JWT access tokens)
//   opaque   client_credentials, every scope                      (opaque tokens: only introspection reads them)
//   app      public client, authorization code + PKCE, redirect http://127.0.0.1/callback
//   clientary-rs  the resource server's own client, for introspection
// Every client secret is "<client_id>-secret". The dev interactions log in any user name with any password.
//
// Test-only admin endpoints on each issuer (under /_admin, outside the provider):
//   POST /_admin/rotate[?drop=1]  a new signing key (new kid) signs from now on; drop=1 unpublishes the old ones
//   GET  /_admin/stats           {"jwks_fetches": n, "last_jwks_fetch": <epoch ms or null>, "kids": [...]}

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');
const RESOURCE = config.resource;
if (!RESOURCE) {
  console.error('oidc_fixture: pass {"resource": "<url>"}');
  process.exit(2);
}
const SCOPES = 'clientary:read clientary:write clientary:delete clientary:send';
// Users the dev login accepts by name; their email and groups go into access tokens.
const USERS = config.users || {
  alice: { email: 'alice@example.test', groups: ['finance'] },
  bob: { email: 'bob@example.test', groups: ['sales'] },
};

function clients() {
  const machine = (id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  });
  return [
    machine('machine'),
    machine('reader'),
    machine('brief'),
    machine('opaque'),
    { ...machine('clientary-rs'), grant_types: [] },
    {
      client_id: 'app',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
  ];
}

async function newKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function makeProvider(issuer, keys) {
  const provider = new Provider(issuer, {
    clients: clients(),
    jwks: { keys },
    scopes: ['openid', 'offline_access', ...SCOPES.split(' ')], // registered clients may name them
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...(USERS[id] ? { email: USERS[id].email } : {}) }) }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      registration: { enabled: true }, // dynamic client registration (RFC 7591), as MCP clients use it
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator, client) {
          // Any https/http resource is known (so tokens for "another resource" can be had); ours has the scopes.
          const opaque = client.clientId === 'opaque';
          return {
            scope: client.clientId === 'reader' ? 'clientary:read' : SCOPES,
            audience: indicator,
            accessTokenTTL: client.clientId === 'brief' ? 2 : 600,
            accessTokenFormat: opaque ? 'opaque' : 'jwt',
            ...(opaque ? {} : { jwt: { sign: { alg: 'RS256' } } }),
          };
        },
      },
    },
    extraTokenClaims(ctx, token) {
      const user = USERS[token.accountId];
      return user ? { email: user.email, groups: user.groups } : undefined;
    },
    pkce: { required: () => true },
    ttl: { AccessToken: 600, ClientCredentials: (ctx, token, client) => (client.clientId === 'brief' ? 2 : 600) },
  });
  provider.on('server_error', (ctx, err) => console.error('oidc_fixture server_error', err));
  return provider;
}

async function issuerServer(name) {
  const state = { keys: [await newKey()], handler: null, fetches: 0, last: null };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/_admin/rotate' && req.method === 'POST') {
      const key = await newKey();
      state.keys = url.searchParams.get('drop') ? [key] : [key, ...state.keys];
      state.handler = makeProvider(state.issuer, state.keys).callback();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kid: key.kid }));
      return;
    }
    if (url.pathname === '/_admin/stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jwks_fetches: state.fetches, last_jwks_fetch: state.last, kids: state.keys.map((k) => k.kid) }));
      return;
    }
    if (url.pathname === '/jwks') {
      state.fetches += 1;
      state.last = Date.now();
    }
    state.handler(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `http://127.0.0.1:${server.address().port}`;
  state.handler = makeProvider(state.issuer, state.keys).callback();
  console.error(`oidc_fixture: ${name} issuer ${state.issuer}`);
  return { server, issuer: state.issuer };
}

const main = await issuerServer('main');
const other = await issuerServer('other');
process.stdout.write(`${JSON.stringify({ main: main.issuer, other: other.issuer })}\n`);

const stop = () => {
  main.server.close();
  other.server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
