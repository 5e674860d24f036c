// A real upstream OpenID provider (panva's oidc-provider v9) for the tenant's okta connection to
// federate to: one static client whose redirect URI is the tenant's /login/callback, one account,
// and the development login and consent forms, which a test fills in with a plain HTTP client.
//
// Input: the JSON object in UPSTREAM_OP_CONFIG:
//   {port, issuer, client_id, client_secret, redirect_uri, account: {sub, email, ...claims}}
// Prints "listening" once it accepts connections.
//
// It also answers POST /test/global-token-revocation-jwt {"aud": …, "sub": …} with a Universal
// Logout token signed by the provider's own key (what Okta sends a Universal Logout receiver), so
// the tenant can be shown to verify one against this provider's published JWKS.
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'

import Provider from 'oidc-provider'

const config = JSON.parse(process.env.UPSTREAM_OP_CONFIG)
const account = config.account
const kid = 'interop-upstream-1'
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }

const provider = new Provider(config.issuer, {
  clients: [{
    client_id: config.client_id,
    client_secret: config.client_secret,
    redirect_uris: [config.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomUUID()] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    if (id !== account.sub) return undefined
    return { accountId: id, async claims() { return account } }
  },
})

function base64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}

function globalTokenRevocationJwt({ aud }) {
  const now = Math.floor(Date.now() / 1000)
  const header = { alg: 'RS256', kid, typ: 'global-token-revocation+jwt' }
  const claims = { iss: config.issuer, aud, iat: now, exp: now + 300, jti: randomUUID() }
  const input = `${base64url(header)}.${base64url(claims)}`
  const signature = createSign('RSA-SHA256').update(input).sign(privateKey).toString('base64url')
  return `${input}.${signature}`
}

const handle = provider.callback()
createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/test/global-token-revocation-jwt') {
    let body = ''
    req.on('data', (chunk) => { body += chunk })
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ token: globalTokenRevocationJwt(JSON.parse(body)) }))
    })
    return
  }
  handle(req, res)
}).listen(config.port, '127.0.0.1', () => console.log('listening'))
