// Scores a results file written by the http-cache-tests CLI with the suite's
// own classification (lib/display.mjs determineTestResult, the code the
// cache-tests.fyi web UI uses to draw each cell), and optionally checks the
// failing required tests against known-failures.tsv.
//
// usage: node score.mjs RESULTS.json [--target NAME] [--known FILE] [--profile P] [--check]
//
// Which tests count: every test the CLI runs (tests/index.mjs plus the
// surrogate-control suite that cli.mjs appends), less the browser_only ones
// that client/runner.mjs skips for a non-browser run: 165 required, 95
// optimal, 90 informational ("check") tests in 0.4.5.
//
// --profile names the zcproxy profile the results are of (defaults, rfc; default:
// defaults): a known-failures entry with a fourth column applies only to the
// profiles listed there (comma-separated), one without to every profile.
//
// A test whose dependency did not pass is "dependency failed": neither a pass
// nor a fail. So are setup failures, retries, harness failures and untested.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const pkg = path.join(here, 'node_modules', 'http-cache-tests')
const { default: baseSuites } = await import(path.join(pkg, 'tests', 'index.mjs'))
const { default: surrogate } = await import(path.join(pkg, 'tests', 'surrogate-control.mjs'))
const display = await import(path.join(pkg, 'lib', 'display.mjs'))

// the result types of lib/display.mjs, named by their third (text) element
const NAMES = {
  '✅': 'pass',
  '⛔️': 'fail',
  '⚠️': 'not optimal',
  Y: 'yes',
  N: 'no',
  '🔹': 'setup failed',
  '⁉️': 'harness failed',
  '⚪️': 'dependency failed',
  '↻': 'retried',
  '-': 'untested'
}

function usage (msg) {
  if (msg) console.error(`score.mjs: ${msg}`)
  console.error('usage: node score.mjs RESULTS.json [--target NAME] [--known FILE] [--profile P] [--check]')
  process.exit(2)
}

const args = process.argv.slice(2)
const PROFILES = ['defaults', 'rfc']
let resultsFile, target, knownFile
let profile = 'defaults'
let check = false
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '--check') check = true
  else if (a === '--target') target = args[++i]
  else if (a === '--known') knownFile = args[++i]
  else if (a === '--profile') profile = args[++i]
  else if (a.startsWith('--')) usage(`unknown option ${a}`)
  else if (resultsFile === undefined) resultsFile = a
  else usage('more than one results file')
}
if (!resultsFile) usage('no results file')
if (!PROFILES.includes(profile)) usage(`unknown profile ${profile} (${PROFILES.join(', ')})`)
knownFile = knownFile || path.join(here, 'known-failures.tsv')
target = target || path.basename(resultsFile, '.json')

let results
try {
  results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'))
} catch (err) {
  console.error(`score.mjs: cannot read results ${resultsFile}: ${err.message}`)
  process.exit(2)
}
if (results === null || typeof results !== 'object' || Object.keys(results).length === 0) {
  console.error(`score.mjs: ${resultsFile} holds no test results`)
  process.exit(2)
}

const suites = [...baseSuites, surrogate]
const tests = []
for (const suite of suites) {
  for (const test of suite.tests) {
    if (test.browser_only === true) continue // client/runner.mjs skips these outside a browser
    tests.push(test)
  }
}

const KINDS = [['required', 'required'], ['optimal', 'optimal'], ['check', 'informational']]
const byKind = {}
for (const [kind] of KINDS) byKind[kind] = { total: 0, counts: {}, ids: {} }
const classOf = {}

for (const test of tests) {
  const kind = test.kind || 'required'
  const type = display.determineTestResult(suites, test.id, results)
  const name = NAMES[type[2]]
  if (name === undefined) throw new Error(`unknown result type ${type} for ${test.id}`)
  classOf[test.id] = name
  const k = byKind[kind]
  if (k === undefined) throw new Error(`unknown test kind ${kind} for ${test.id}`)
  k.total++
  k.counts[name] = (k.counts[name] || 0) + 1
  ;(k.ids[name] = k.ids[name] || []).push(test.id)
}

function detail (id) {
  const r = results[id]
  return Array.isArray(r) && typeof r[1] === 'string' ? r[1].replace(/\s+/g, ' ').trim() : ''
}

function others (k, shown) {
  const rest = Object.entries(k.counts).filter(([n]) => !shown.includes(n))
  return rest.length ? `; ${rest.map(([n, c]) => `${c} ${n}`).join(', ')}` : ''
}

const req = byKind.required
const opt = byKind.optimal
const inf = byKind.check
const c = (k, n) => k.counts[n] || 0

console.log(`== http-cache-tests 0.4.5 against ${target}, profile ${profile} (${resultsFile})`)
console.log(`required: ${c(req, 'pass')} passed, ${c(req, 'fail')} failed (of ${req.total}${others(req, ['pass', 'fail'])})`)
console.log(`optimal: ${c(opt, 'pass')} passed (of ${opt.total}; ${c(opt, 'not optimal')} not optimal${others(opt, ['pass', 'not optimal'])})`)
console.log(`informational: ${c(inf, 'yes')} yes, ${c(inf, 'no')} no (of ${inf.total}${others(inf, ['yes', 'no'])})`)

// known failures: id <TAB> RFC section <TAB> reason [<TAB> profiles]; '#' starts a comment
function readKnown (file) {
  const known = new Map()
  const problems = []
  let text
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    problems.push(`cannot read ${file}: ${err.message}`)
    return { known, problems }
  }
  text.split('\n').forEach((line, i) => {
    const l = line.replace(/\r$/, '')
    if (l.trim() === '' || l.trimStart().startsWith('#')) return
    const cols = l.split('\t').map(s => s.trim())
    if (cols.length < 3 || !cols[0] || !cols[1] || !cols[2]) {
      problems.push(`${file}:${i + 1}: want 3 tab-separated columns (test id, RFC section, reason)`)
      return
    }
    if (!(cols[0] in classOf)) problems.push(`${file}:${i + 1}: unknown test id ${cols[0]}`)
    if (cols.length > 4) {
      problems.push(`${file}:${i + 1}: want at most 4 columns (test id, RFC section, reason, profiles)`)
      return
    }
    const profiles = cols.length === 4 ? cols[3].split(',').map(p => p.trim()) : PROFILES
    const unknown = profiles.filter(p => !PROFILES.includes(p))
    if (unknown.length) {
      problems.push(`${file}:${i + 1}: unknown profile ${unknown.join(', ')} (${PROFILES.join(', ')})`)
      return
    }
    if (!profiles.includes(profile)) return // an entry of another profile
    if (known.has(cols[0])) problems.push(`${file}:${i + 1}: ${cols[0]} is listed twice for profile ${profile}`)
    known.set(cols[0], { section: cols[1], reason: cols[2] })
  })
  return { known, problems }
}

const { known, problems } = readKnown(knownFile)

function listIds (title, ids) {
  if (!ids || ids.length === 0) return
  console.log(`${title} (${ids.length}):`)
  for (const id of ids) {
    const k = known.get(id)
    console.log(`  ${id}  ${detail(id)}${k ? `  [known failure, ${k.section}]` : ''}`)
  }
}
listIds('failing required tests', req.ids.fail)
listIds('failing optimal tests', opt.ids['not optimal'])
for (const n of ['setup failed', 'harness failed', 'retried']) {
  listIds(`${n}: required`, req.ids[n])
  listIds(`${n}: optimal`, opt.ids[n])
}

if (check) {
  const unexpected = (req.ids.fail || []).filter(id => !known.has(id))
  const expected = (req.ids.fail || []).filter(id => known.has(id))
  const stale = [...known.keys()].filter(id => classOf[id] === 'pass' || classOf[id] === 'yes')
  console.log(`== check against ${path.relative(process.cwd(), knownFile) || knownFile} (profile ${profile})`)
  for (const p of problems) console.log(`known-failures problem: ${p}`)
  console.log(`known failures that failed as listed: ${expected.length}`)
  if (stale.length) {
    console.log(`stale known-failures entries (these tests now pass; remove them) (${stale.length}):`)
    for (const id of stale) console.log(`  ${id}`)
  }
  if (unexpected.length) {
    console.log(`FAIL: failing required tests not in known-failures (${unexpected.length}):`)
    for (const id of unexpected) console.log(`  ${id}  ${detail(id)}`)
  }
  const ok = unexpected.length === 0 && problems.length === 0
  console.log(`conformance check: ${ok ? 'OK' : 'FAILED'}`)
  process.exit(ok ? 0 : 1)
}
