// panva's oidc-provider configured as the tenant is for the token benchmark: client_credentials,
// the client authenticated by private_key_jwt (its public JWKS registered inline), and RS256 JWT
// access tokens (RFC 9068) for one resource server, signed with a 2048-bit key. Default
// in-memory adapter; no logging. Runs with the Node.js 22 and the oidc-provider pinned by
// tests/interop/node/package-lock.json.
//
// Input: the JSON object in BENCH_PEER_CONFIG:
//   {port, issuer, provider_module, client_id, client_jwks: {keys: [...]}, audience, scope}
// Prints "listening" once it accepts connections.
import { generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'

const config = JSON.parse(process.env.BENCH_PEER_CONFIG)
// Imported by path: the package lives in the interop tests' node_modules, not beside this file.
const { default: Provider } = await import(pathToFileURL(config.provider_module).href)

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-1', use: 'sig', alg: 'RS256' }

const provider = new Provider(config.issuer, {
  clients: [{
    client_id: config.client_id,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: config.client_jwks,
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomUUID()] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: config.scope,
        audience: config.audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 86400,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
})

createServer(provider.callback()).listen(config.port, '127.0.0.1', () => console.log('listening'))
