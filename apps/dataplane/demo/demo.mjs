// `npm run demo`: the mesh on localhost. A control plane (memory store), two tiny services `web`
// and `backend`, and their meshca-dp agents; then each step of what mTLS and TrafficPermission do,
// shown with curl and checked: the demo exits non-zero when a step does not behave as printed.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = fileURLToPath(new URL('../../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'meshca-demo-'))
const children = []
const servers = []

const say = (text) => process.stdout.write(`${text}\n`)
const step = (n, title) => say(`\n\x1b[1m${n}. ${title}\x1b[0m`)
const proves = (text) => say(`   \x1b[32m✓\x1b[0m ${text}`)

async function freePort() {
  const server = createNetServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function app(name) {
  const server = createServer((_, res) => res.end(`hello from ${name}\n`))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return server.address().port
}

function start(args, ready) {
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let output = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args[0]} did not start:\n${output}`)),
      120_000
    )
    const onData = (chunk) => {
      output += chunk
      const match = ready.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1])
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${args[0]} exited with ${code}:\n${output}`)))
  })
}

/** `curl -s URL`, printed as a user would type it; resolves with its output or its failure. */
function curl(url) {
  say(`   $ curl -s --max-time 5 ${url}`)
  return new Promise((resolve) => {
    execFile('curl', ['-s', '--max-time', '5', url], (error, stdout) => {
      const text = error ? `(curl failed: exit code ${error.code})` : stdout.trim()
      say(`   ${text}`)
      resolve(error ? null : stdout.trim())
    })
  })
}

function check(condition, text) {
  if (!condition) throw new Error(`the demo expected: ${text}`)
  proves(text)
}

async function api(cp, method, path, body) {
  const response = await fetch(`${cp}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return response.text()
}

const mesh = (mode) => ({
  type: 'Mesh',
  name: 'default',
  mtls: { enabledBackend: 'ca-1', backends: [{ name: 'ca-1', type: 'builtin', mode }] },
})

function dataplaneYaml(service, inbound, servicePort, outbound) {
  return `type: Dataplane
mesh: default
name: {{ name }}
networking:
  address: 127.0.0.1
  inbound:
    - port: ${inbound}
      servicePort: ${servicePort}
      tags:
        kuma.io/service: ${service}
${outbound ? `  outbound:\n    - port: ${outbound}\n      tags:\n        kuma.io/service: backend\n` : ''}`
}

async function agent(cp, name, service, yaml) {
  const token = await api(cp, 'POST', '/tokens/dataplane', {
    mesh: 'default',
    name,
    tags: { 'kuma.io/service': [service] },
  })
  writeFileSync(join(dir, `${name}.token`), token)
  writeFileSync(join(dir, `${name}.yaml`), yaml)
  const bin = join(REPO, 'apps/dataplane/dist/main.js')
  const args = [bin, 'run', '--cp-address', cp, '--dataplane-file', `${name}.yaml`]
  args.push(
    '--dataplane-var',
    `name=${name}`,
    '--dataplane-token-file',
    `${name}.token`,
    '--admin-port',
    '0'
  )
  return start(args, /data plane ready .*admin=(\d+)/)
}

async function until(read, ok, ms = 10_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (ok(value) || Date.now() > deadline) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

const quiet = async (url) => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) })
    return (await response.text()).trim()
  } catch {
    return null
  }
}

async function main() {
  step(1, 'A control plane, and builtin mTLS on the mesh "default" (STRICT)')
  const cpEntry = join(REPO, 'apps/api/dist/entry/node.js')
  const cp = await start(
    [
      cpEntry,
      '--store',
      'memory',
      '--data-dir',
      dir,
      '--port',
      '0',
      '--metrics-port',
      'off',
      '--signer',
      'inline',
    ],
    /API listening on (http:\/\/\S+)/
  )
  await api(cp, 'PUT', '/meshes/default', mesh('STRICT'))
  say(`   control plane ${cp}; PUT /meshes/default with a builtin CA`)

  step(2, 'Two services, web and backend, each behind its meshca-dp agent')
  const [webApp, backendApp] = [await app('web'), await app('backend')]
  const [webIn, backendIn, webOut] = [await freePort(), await freePort(), await freePort()]
  const backendAdmin = await agent(
    cp,
    'backend-1',
    'backend',
    dataplaneYaml('backend', backendIn, backendApp)
  )
  await agent(cp, 'web-1', 'web', dataplaneYaml('web', webIn, webApp, webOut))
  say(`   backend: app 127.0.0.1:${backendApp}, its agent's inbound 127.0.0.1:${backendIn}`)
  say(`   web:     app 127.0.0.1:${webApp}, its agent's outbound to backend 127.0.0.1:${webOut}`)

  step(3, "web's outbound reaches backend over mTLS")
  await until(
    () => quiet(`http://127.0.0.1:${webOut}/`),
    (t) => t === 'hello from backend'
  )
  const reached = await curl(`http://127.0.0.1:${webOut}/`)
  check(
    reached === 'hello from backend',
    'web → its agent (mTLS, SPIFFE ID spiffe://default/backend checked) → backend'
  )
  const metrics = await quiet(`http://127.0.0.1:${backendAdmin}/metrics`)
  check(
    /meshca_dp_rbac_allowed_total\{[^}]*permission="allow-all-default"[^}]*\} [1-9]/.test(
      metrics ?? ''
    ),
    "backend's agent allowed it under TrafficPermission allow-all-default"
  )

  step(4, 'A TrafficPermission that allows only "db" to call backend')
  await api(cp, 'PUT', '/meshes/default/traffic-permissions/only-db', {
    type: 'TrafficPermission',
    mesh: 'default',
    name: 'only-db',
    sources: [{ match: { 'kuma.io/service': 'db' } }],
    destinations: [{ match: { 'kuma.io/service': 'backend' } }],
  })
  await until(
    () => quiet(`http://127.0.0.1:${webOut}/`),
    (t) => t === null || t === ''
  )
  const denied = await curl(`http://127.0.0.1:${webOut}/`)
  check(
    denied === null || denied === '',
    'web is denied: the most specific permission for backend does not list web'
  )
  await api(cp, 'DELETE', '/meshes/default/traffic-permissions/only-db')
  await until(
    () => quiet(`http://127.0.0.1:${webOut}/`),
    (t) => t === 'hello from backend'
  )
  proves('deleting it lets web in again, with no restart')

  step(5, "A plaintext client straight to backend's inbound: STRICT refuses it")
  const strict = await curl(`http://127.0.0.1:${backendIn}/`)
  check(strict === null || strict === '', 'STRICT: only mTLS clients of the mesh get in')

  step(6, 'PERMISSIVE lets the plaintext client in (while services migrate)')
  await api(cp, 'PUT', '/meshes/default', mesh('PERMISSIVE'))
  await until(
    () => quiet(`http://127.0.0.1:${backendIn}/`),
    (t) => t === 'hello from backend',
    15_000
  )
  const permissive = await curl(`http://127.0.0.1:${backendIn}/`)
  check(
    permissive === 'hello from backend',
    'PERMISSIVE: plaintext reaches the app, without TrafficPermission checks'
  )
  check(
    (await quiet(`http://127.0.0.1:${webOut}/`)) === 'hello from backend',
    'and mTLS between the agents still works'
  )

  step(7, 'STRICT again refuses it')
  await api(cp, 'PUT', '/meshes/default', mesh('STRICT'))
  await until(
    () => quiet(`http://127.0.0.1:${backendIn}/`),
    (t) => t === null || t === '',
    15_000
  )
  const again = await curl(`http://127.0.0.1:${backendIn}/`)
  check(again === null || again === '', 'STRICT: plaintext refused once more')
  say('\nDone: every step behaved as printed.')
}

let code = 0
try {
  await main()
} catch (error) {
  say(`\n\x1b[31m${error instanceof Error ? error.message : String(error)}\x1b[0m`)
  code = 1
} finally {
  for (const child of children) child.kill('SIGTERM')
  for (const server of servers) server.close()
  await new Promise((resolve) => setTimeout(resolve, 500))
  rmSync(dir, { recursive: true, force: true })
}
process.exit(code)
