#!/usr/bin/env bash
# The whole test matrix (npm test): build, type check, format and lint (Biome), unit tests, then the golden-vector conformance
# runner in every runtime: Node (webgpu, wasm on both SIMD builds), Deno (webgpu), Bun (webgpu, wasm),
# Chromium (webgpu), workerd (wasm), the fine-tuning page (web/) end to end in headless Chromium, and the packed package
# installed into an empty project (test/package/run.mjs).
#
#   VECTORS=DIR          the golden vectors (default test/vectors, the repository's copy)
#   CI=true              a runtime that cannot start (no Deno, no Chromium, no WebGPU adapter, no vectors)
#                        is a FAILURE; without CI it is a SKIP line and the rest still runs
#   SNELL_STEP_TIMEOUT   seconds each step may take (default 900)
#
# Every step counts once in the last line, "N passed, N failed"; the exit status is 1 if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."

VECTORS="${VECTORS:-test/vectors}"
STEP_TIMEOUT="${SNELL_STEP_TIMEOUT:-900}"
case "${CI:-}" in true | TRUE | True | 1) ci=1 ;; *) ci=0 ;; esac
# Deno refuses to start without XDG_RUNTIME_DIR; it should not look for updates either.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
  XDG_RUNTIME_DIR="$(mktemp -d)"
  export XDG_RUNTIME_DIR
fi
export DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1

passed=0
failed=0
failed_steps=()
skipped_steps=()

# Each step's PASS/FAIL line gives its wall time since the step began (started=$SECONDS).
started=$SECONDS
took() { echo "$((SECONDS - started)) s"; }
pass() { passed=$((passed + 1)); echo "PASS $1 ($(took))"; }
fail() { failed=$((failed + 1)); failed_steps+=("$1"); echo "FAIL $1${2:+: $2} ($(took))"; }
# A runtime that cannot start: a failure in CI, a skip elsewhere.
unavailable() {
  if [ "$ci" = 1 ]; then
    fail "$1" "cannot start: $2 (CI=true: every runtime must run)"
  else
    skipped_steps+=("$1")
    echo "SKIP $1: $2"
  fi
}

bounded() {
  if command -v timeout >/dev/null 2>&1; then timeout -k 10 "$STEP_TIMEOUT" "$@"; else "$@"; fi
}

# Runs one step; its exit status decides pass or fail (124: timed out).
step() {
  local name=$1
  shift
  echo
  echo "=== $name: $*"
  started=$SECONDS
  bounded "$@"
  local rc=$?
  if [ $rc = 0 ]; then
    pass "$name"
  elif [ $rc = 124 ] || [ $rc = 137 ]; then
    fail "$name" "timed out after ${STEP_TIMEOUT}s"
  else
    fail "$name" "exit status $rc"
  fi
  return $rc
}

summary() {
  echo
  [ ${#skipped_steps[@]} -gt 0 ] && echo "skipped: ${skipped_steps[*]}"
  [ ${#failed_steps[@]} -gt 0 ] && echo "failed: ${failed_steps[*]}"
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit $?
}

# Whether a host's WebGPU backend can start: prints the device or the reason; 3 means unavailable.
probe_js() { # the package entry to import
  printf '%s\n' "const { createBackend } = await import('$1');" \
    'try {' \
    '  const b = await createBackend({ prefer: "webgpu" });' \
    '  console.log(b.description);' \
    '  b.destroy();' \
    '} catch (e) {' \
    '  console.log(e.message);' \
    '  process.exitCode = 3;' \
    '}'
}
probe() { # name, then the command that evaluates $probe_js
  local name=$1 out rc
  shift
  out=$(bounded "$@" 2>&1)
  rc=$?
  case $rc in
    0) echo "# $name WebGPU: $(echo "$out" | grep -v '^Warning:' | tail -n 1)"; return 0 ;;
    3) unavailable "$name" "$(echo "$out" | tail -n 1)"; return 1 ;;
    *) fail "$name" "the WebGPU probe crashed (exit status $rc): $(echo "$out" | tail -n 3)"; return 1 ;;
  esac
}

step build npm run build || summary
step typecheck npx tsc --noEmit
step lint npx biome check .
step unit npx vitest run

# A step driving headless Chromium: exit status 3 means Chromium, playwright-core or the adapter is
# unavailable, and the last output line matching `pattern` says why.
browser_step() { # name, pattern, command...
  local name=$1 pattern=$2 log
  shift 2
  echo
  echo "=== $name: $*"
  started=$SECONDS
  log=$(mktemp)
  bounded "$@" 2>&1 | tee "$log"
  case ${PIPESTATUS[0]} in
    0) pass "$name" ;;
    3) unavailable "$name" "$(grep -E "$pattern" "$log" | tail -n 1)" ;;
    124 | 137) fail "$name" "timed out after ${STEP_TIMEOUT}s" ;;
    *) fail "$name" ;;
  esac
  rm -f "$log"
}

# The fine-tuning page (web/): the image mode, then the text mode
browser_step web-e2e '^unavailable:' bash -c 'node test/web/e2e.mjs && node test/web/e2e-text.mjs'

conformance=(conformance --vectors "$VECTORS")
if [ ! -d "$VECTORS" ]; then
  for name in node-webgpu node-wasm node-wasm-relaxed deno-webgpu bun-webgpu bun-wasm chromium-webgpu workerd-wasm; do
    unavailable "$name" "no vectors folder $VECTORS (set VECTORS=DIR)"
  done
  summary
fi

# Node
if probe node-webgpu node --input-type=module -e "$(probe_js ./dist/node.js)"; then
  step node-webgpu node dist/cli.js "${conformance[@]}" --backend webgpu
fi
# Both builds of the Wasm kernels: plain simd128, and relaxed SIMD (Node 20 has it behind a V8 flag only)
step node-wasm node dist/cli.js "${conformance[@]}" --backend wasm --wasm-simd plain
relaxed_flag=()
node --experimental-wasm-relaxed-simd -e '' 2>/dev/null && relaxed_flag=(--experimental-wasm-relaxed-simd)
step node-wasm-relaxed node "${relaxed_flag[@]}" dist/cli.js "${conformance[@]}" --backend wasm --wasm-simd relaxed

# Deno (the npm package's binary, else one on PATH)
deno=node_modules/.bin/deno
[ -x "$deno" ] || deno=$(command -v deno || true)
if [ -z "$deno" ]; then
  unavailable deno-webgpu "no deno binary (npm ci installs node_modules/.bin/deno: its install script must run)"
elif ! "$deno" --version >/dev/null 2>&1; then
  unavailable deno-webgpu "$deno does not start: $("$deno" --version 2>&1 | tail -n 1)"
elif probe deno-webgpu "$deno" eval "$(probe_js ./dist/deno.js)"; then
  step deno-webgpu "$deno" run -A dist/cli.js "${conformance[@]}" --backend webgpu
fi

# Bun (the npm package's binary, else one on PATH): Node's host file, so Dawn for WebGPU
bun=node_modules/.bin/bun
[ -x "$bun" ] || bun=$(command -v bun || true)
if [ -z "$bun" ]; then
  unavailable bun-webgpu "no bun binary (npm ci installs node_modules/.bin/bun: its install script must run)"
  unavailable bun-wasm "no bun binary"
elif ! "$bun" --version >/dev/null 2>&1; then
  unavailable bun-webgpu "$bun does not start: $("$bun" --version 2>&1 | tail -n 1)"
  unavailable bun-wasm "$bun does not start"
else
  if probe bun-webgpu "$bun" -e "$(probe_js ./dist/node.js)"; then
    step bun-webgpu "$bun" dist/cli.js "${conformance[@]}" --backend webgpu
  fi
  step bun-wasm "$bun" dist/cli.js "${conformance[@]}" --backend wasm
fi

# Chromium
browser_step chromium-webgpu '^(browser-runner:|# cannot create)' node runtimes/browser-runner/run.mjs --vectors "$VECTORS" --backend webgpu

# workerd (Cloudflare's runtime): the edge entry, Wasm from precompiled modules, one thread.
# browser_step's rule serves here too: exit status 3 means workerd cannot start.
browser_step workerd-wasm '^workerd-runner:' node runtimes/workerd-runner/run.mjs --vectors "$VECTORS"

# The package as users get it: npm pack, installed into an empty project, one case in every runtime
step package node test/package/run.mjs

summary
