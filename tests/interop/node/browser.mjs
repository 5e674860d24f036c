// The browser half of the interop relying parties: a cookie jar, following redirects, and
// filling each page's first form the way a person would (e-mail, password, organization; the
// submit button that accepts or continues). Used by strict-rp.mjs and workforce-rp.mjs.

// One JSON object from stdin: the test's instructions to the script.
export async function readInput() {
  return JSON.parse(await new Promise((resolve) => {
    let data = ''
    process.stdin.on('data', (chunk) => { data += chunk })
    process.stdin.on('end', () => resolve(data))
  }))
}

export const jar = new Map()
export function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';')
    const index = pair.indexOf('=')
    const name = pair.slice(0, index).trim()
    const value = pair.slice(index + 1).trim()
    if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name)
    else jar.set(name, value)
  }
}
export function cookieHeader() {
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
export async function signIn(authorizationUrl, person, redirectUri) {
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
