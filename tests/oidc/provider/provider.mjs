// A test OpenID Provider: panva's certified oidc-provider on a loopback port, over http.
//
//   node provider.mjs <config.json>
//
// config.json (written by tests/oidc/op.py):
//   port       the loopback port to listen on
//   issuer     the issuer (http://127.0.0.1:<port>)
//   jwks       path of a JSON Web Key Set with private keys; the provider signs with the first key of the
//              algorithm a client asks for and publishes the public part of every key at /jwks
//   resource   the resource indicator of the API (a URI), issued with audience `audience`
//   audience   the access tokens' aud
//   clients    [{client_id, client_secret, alg (RS256|ES256), claims: {...}}]: client credentials clients;
//              `claims` are added to each of the client's access tokens (role, authority, roles...)
//   web_clients [{client_id, client_secret (absent: a public client), redirect_uris, post_logout_redirect_uris}]:
//              authorization code clients (PKCE S256 required, refresh tokens issued), signing people in
//              through the provider's own login and consent pages (devInteractions: any login name, no
//              password)
//   accounts   {login: {claims: {name, email...}, token_claims: {roles, authority...}}}: `claims` are the
//              person's ID token and userinfo claims, `token_claims` are added to their JWT access tokens; a
//              login not listed signs in too, with no claims but its sub
//   access_token_ttl  seconds an access token for the API lasts (default 600)
//
// Access tokens are JWTs (RFC 9068, typ at+jwt). Once listening it prints "listening <port>" on stdout.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const jwks = JSON.parse(readFileSync(config.jwks, 'utf8'));
const byId = new Map(config.clients.map((c) => [c.client_id, c]));
const webClients = config.web_clients || [];
const webIds = new Set(webClients.map((c) => c.client_id));
const accounts = config.accounts || {};

const provider = new Provider(config.issuer, {
  jwks,
  clients: [
    ...config.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api',
    })),
    ...webClients.map((c) => ({
      client_id: c.client_id,
      ...(c.client_secret
        ? { client_secret: c.client_secret, token_endpoint_auth_method: 'client_secret_basic' }
        : { token_endpoint_auth_method: 'none' }),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: c.redirect_uris,
      post_logout_redirect_uris: c.post_logout_redirect_uris || [],
      scope: 'openid profile email offline_access api',
    })),
  ],
  scopes: ['openid', 'offline_access', 'api'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  // The person's name and email in the ID token itself (as Entra ID puts them), not only at userinfo.
  conformIdTokenClaims: false,
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, ...(accounts[id]?.claims || {}) }),
  }),
  features: {
    devInteractions: { enabled: webClients.length > 0 },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator, client) => {
        if (resourceIndicator !== config.resource) {
          throw new Error(`unknown resource ${resourceIndicator}`);
        }
        return {
          scope: 'api',
          audience: config.audience,
          accessTokenTTL: config.access_token_ttl || 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: byId.get(client.clientId)?.alg || 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: (ctx, token) => {
    if (token.accountId) {
      return accounts[token.accountId]?.token_claims || {};
    }
    return byId.get(token.clientId)?.claims || {};
  },
  // A web client gets a refresh token with every code (no offline_access scope or consent prompt needed).
  issueRefreshToken: (ctx, client) => webIds.has(client.clientId) && client.grantTypeAllowed('refresh_token'),
  ttl: {
    RefreshToken: 3600,
    Session: 3600,
    Grant: 3600,
    Interaction: 600,
    AuthorizationCode: 60,
    IdToken: 3600,
  },
  // Loopback, plain http: the tests' provider only. A web client must use PKCE (S256).
  pkce: { required: (ctx, client) => webIds.has(client.clientId) },
});
provider.proxy = false;

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${config.port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
