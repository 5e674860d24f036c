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

const input = JSON.parse(await new Promise((resolve) => {
  let data = ''
  process.stdin.on('data', (chunk) => { data += chunk })
  process.stdin.on('end', () => resolve(data))
}))

const jar = new Map()
function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';')
    const index = pair.indexOf('=')
    const name = pair.slice(0, index).trim()
    const value = pair.slice(index + 1).trim()
    if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name)
    else jar.set(name, value)
  }
}
function cookieHeader() {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}

function decode(text) {
  return text.replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}
function attribute(tag, name) {
  const match = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i'))
  return match ? decode(match[2] ?? match[3]) : undefined
}

// Fill the page's first form as a person would, and answer the request to send.
function fillForm(html, pageUrl, person) {
  const form = html.match(/<form\b[^>]*>([\s\S]*?)<\/form>/i)
  if (!form) throw new Error(`no form on ${pageUrl}:\n${html.slice(0, 500)}`)
  const formTag = form[0].match(/<form\b[^>]*>/i)[0]
  const action = new URL(attribute(formTag, 'action') ?? pageUrl, pageUrl)
  const method = (attribute(formTag, 'method') ?? 'get').toUpperCase()
  const fields = new URLSearchParams()
  for (const tag of form[1].match(/<input\b[^>]*>/gi) ?? []) {
    const name = attribute(tag, 'name')
    if (!name) continue
    const type = (attribute(tag, 'type') ?? 'text').toLowerCase()
    if (type === 'submit' || type === 'button') continue
    if ((type === 'radio' || type === 'checkbox') && !/\schecked/i.test(tag)) continue
    let value = attribute(tag, 'value') ?? ''
    if (type === 'password') value = person.password
    else if (type === 'email' || /^(username|email|identifier)$/i.test(name)) value = person.email
    else if (/organization/i.test(name) && type !== 'hidden') value = person.organization ?? value
    fields.set(name, value)
  }
  // Buttons: prefer the one that accepts or continues, as the person wants to get through.
  const buttons = [...(form[1].match(/<button\b[^>]*>/gi) ?? []), ...(form[1].match(/<input\b[^>]*type\s*=\s*["']submit["'][^>]*>/gi) ?? [])]
  const named = buttons.filter((b) => attribute(b, 'name'))
  const chosen = named.find((b) => /accept|allow|continue|yes|confirm/i.test(attribute(b, 'value') ?? '')) ?? named[0]
  if (chosen) fields.set(attribute(chosen, 'name'), attribute(chosen, 'value') ?? '')
  return { action, method, fields }
}

// Drive the browser part from the authorization URL until the redirect to our callback.
async function signIn(authorizationUrl, person, redirectUri) {
  let request = { url: new URL(authorizationUrl), method: 'GET', body: undefined }
  const pages = []
  for (let step = 0; step < 20; step++) {
    const response = await fetch(request.url, {
      method: request.method,
      body: request.body,
      redirect: 'manual',
      headers: {
        cookie: cookieHeader(),
        ...(request.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
    })
    remember(response)
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location'), request.url)
      if (location.href.startsWith(redirectUri)) return { callback: location, pages }
      request = { url: location, method: 'GET', body: undefined }
      continue
    }
    const html = await response.text()
    if (response.status !== 200) throw new Error(`${response.status} on ${request.url}: ${html.slice(0, 500)}`)
    const title = (html.match(/<title>([^<]*)<\/title>/i) ?? [])[1] ?? ''
    pages.push(title.trim())
    const { action, method, fields } = fillForm(html, request.url, person)
    if (method === 'GET') {
      for (const [name, value] of fields) action.searchParams.set(name, value)
      request = { url: action, method, body: undefined }
    } else {
      request = { url: action, method, body: fields.toString() }
    }
  }
  throw new Error('the login did not finish in 20 steps')
}

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
