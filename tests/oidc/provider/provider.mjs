// A test OpenID Provider: panva's certified oidc-provider on a loopback port, over http.
//
//   node provider.mjs <config.json>
//
// config.json (written by tests/oidc/conftest.py):
//   port       the loopback port to listen on
//   issuer     the issuer (http://127.0.0.1:<port>)
//   jwks       path of a JSON Web Key Set with private keys; the provider signs with the first key of the
//              algorithm a client asks for and publishes the public part of every key at /jwks
//   resource   the resource indicator of the API (a URI), issued with audience `audience`
//   audience   the access tokens' aud
//   clients    [{client_id, client_secret, alg (RS256|ES256), claims: {...}}]: client credentials clients;
//              `claims` are added to each of the client's access tokens (role, authority, roles...)
//
// Access tokens are JWTs (RFC 9068, typ at+jwt). Once listening it prints "listening <port>" on stdout.
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const jwks = JSON.parse(readFileSync(config.jwks, 'utf8'));
const byId = new Map(config.clients.map((c) => [c.client_id, c]));

const provider = new Provider(config.issuer, {
  jwks,
  clients: config.clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: 'api',
  })),
  scopes: ['api'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
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
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: byId.get(client.clientId)?.alg || 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: (ctx, token) => byId.get(token.clientId)?.claims || {},
  // Loopback, plain http: the tests' provider only.
  pkce: { required: () => false },
});
provider.proxy = false;

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${config.port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
