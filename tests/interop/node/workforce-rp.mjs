// A strict OpenID Connect relying party (openid-client v6 on oauth4webapi) run against a live
// workforce org. It plays the browser too: it follows redirects with a cookie jar and fills the
// org's login page (username, password) the way a person would. Unlike strict-rp.mjs (the
// tenant's), it does not revoke tokens (the org's provider has no revocation endpoint) and it
// authenticates with client_secret_basic or client_secret_post.
//
// Input: one JSON object on stdin. Output: one JSON object on stdout with what each step saw.
// Every protocol check (issuer, iss in the authorization response, PKCE, ID token signature,
// claims, nonce, at_hash) is openid-client's own; a failure throws and the script exits non-zero.
import * as client from 'openid-client'
import { cookieHeader, jar, readInput, remember, signIn } from './browser.mjs'

const input = await readInput()

async function configure() {
  const authentication = input.client_secret_post
    ? client.ClientSecretPost(input.client_secret)
    : client.ClientSecretBasic(input.client_secret)
  return client.discovery(new URL(input.issuer), input.client_id, undefined, authentication, {
    execute: [client.allowInsecureRequests],
  })
}

const config = await configure()
const verifier = client.randomPKCECodeVerifier()
const state = client.randomState()
const nonce = client.randomNonce()
const parameters = {
  redirect_uri: input.redirect_uri,
  scope: input.scope,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
  state,
  nonce,
}
const authorizationUrl = client.buildAuthorizationUrl(config, parameters)
const { callback, pages } = await signIn(authorizationUrl, input.person, input.redirect_uri)

const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
})
const claims = tokens.claims()
const result = { pages, id_token_claims: claims, scope: tokens.scope, access_token: tokens.access_token }

result.userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)

if (tokens.refresh_token) {
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  result.refresh_rotated = refreshed.refresh_token !== undefined && refreshed.refresh_token !== tokens.refresh_token
  result.refreshed_id_token_sub = refreshed.claims()?.sub
  // RFC 9700 §4.14.2: the rotated-out token must not work again.
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token)
    result.old_refresh_token_refused = false
  } catch (error) {
    result.old_refresh_token_refused = error.error === 'invalid_grant'
  }
  // RFC 9700 §4.14.2: replaying a rotated-out token revokes the grant, successor included.
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token)
    result.successor_refused_after_replay = false
  } catch (error) {
    result.successor_refused_after_replay = error.error === 'invalid_grant'
  }
}

if (input.post_logout_redirect_uri) {
  const logoutUrl = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: input.post_logout_redirect_uri,
    state: 'bye',
  })
  const response = await fetch(logoutUrl, { redirect: 'manual', headers: { cookie: cookieHeader() } })
  remember(response)
  result.logout_status = response.status
  result.logout_location = response.headers.get('location')
  result.session_cookie_after_logout = jar.has('expressway_workforce_session')
}

process.stdout.write(JSON.stringify(result))
