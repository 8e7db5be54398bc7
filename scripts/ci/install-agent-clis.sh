#!/usr/bin/env bash
# Install the real agent CLIs that test/e2e/realAgents.test.ts drives:
# Claude Code, Codex and Gemini CLI, from npm, at pinned versions.
#
# Why a cache folder and not devDependencies: together they are ~900 MB
# (Claude Code and Codex ship native binaries), and the project itself never
# imports them; the tests only spawn them through the daemon, like a user's
# machine would. So they live in their own npm prefix outside node_modules,
# shared by every checkout on the machine.
#
# The versions are the ones /work/shared/agents/help/*.txt and the recorded
# fixtures in test/fixtures/agents/ were taken from; bump them together.
#
# Idempotent: when every package is already at its pinned version (and Claude's
# postinstall has put its native binary in place) it only prints the bin dir.
#
# Usage: scripts/ci/install-agent-clis.sh   -> prints the bin dir on stdout (logs go to stderr)
# Env:   AGENT_CLIS_DIR  install prefix (default $HOME/.cache/switchyard-agent-clis)
set -euo pipefail

DIR="${AGENT_CLIS_DIR:-$HOME/.cache/switchyard-agent-clis}"
BIN="$DIR/node_modules/.bin"
# package  version  binary
PINS=(
  "@anthropic-ai/claude-code 2.1.332 claude"
  "@openai/codex 0.169.0 codex"
  "@google/gemini-cli 0.61.0 gemini"
)

log() { printf '[install-agent-clis %4ss] %s\n' "$SECONDS" "$*" >&2; }

installed_version() {
  local pj="$DIR/node_modules/$1/package.json"
  [[ -f "$pj" ]] || return 0
  node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version ?? ""))' "$pj"
}

# Everything in place? Versions from package.json (cheap), each bin present and
# executable, and Claude's binary a real one: its postinstall copies the native
# executable over a placeholder, and a skipped postinstall leaves a stub that
# cannot answer --version.
up_to_date() {
  local pkg version bin have
  for entry in "${PINS[@]}"; do
    read -r pkg version bin <<<"$entry"
    have="$(installed_version "$pkg")"
    if [[ "$have" != "$version" ]]; then
      log "$pkg: ${have:-not installed}, want $version"
      return 1
    fi
    if [[ ! -x "$BIN/$bin" ]]; then
      log "$pkg: $BIN/$bin missing"
      return 1
    fi
  done
  if ! "$BIN/claude" --version >/dev/null 2>&1; then
    log "claude: $BIN/claude does not answer --version (postinstall not run?)"
    return 1
  fi
}

if up_to_date; then
  log "already installed in $DIR"
else
  command -v npm >/dev/null || { echo "install-agent-clis.sh: npm not found" >&2; exit 1; }
  mkdir -p "$DIR"
  # Own package.json with exact versions: `npm install` there is then a
  # reproducible, repeatable install that also repairs a half-finished one.
  deps=""
  specs=()
  for entry in "${PINS[@]}"; do
    read -r pkg version _ <<<"$entry"
    deps+="${deps:+,}\"$pkg\":\"$version\""
    specs+=("$pkg@$version")
  done
  printf '{"name":"switchyard-agent-clis","private":true,"description":"Agent CLIs for switchyard end-to-end tests (scripts/ci/install-agent-clis.sh)","dependencies":{%s}}\n' "$deps" >"$DIR/package.json"
  t0=$SECONDS
  log "npm install into $DIR: ${specs[*]}"
  # The CLIs' engines fields may name a newer Node than the one running npm
  # (claude-code says >=22 but ships a native binary); that is only a warning.
  (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error) >&2
  # Should npm have skipped lifecycle scripts, put Claude's native binary in place ourselves.
  if ! "$BIN/claude" --version >/dev/null 2>&1; then
    log "running @anthropic-ai/claude-code's postinstall"
    (cd "$DIR/node_modules/@anthropic-ai/claude-code" && node install.cjs) >&2
  fi
  log "npm install took $((SECONDS - t0))s"
  up_to_date || { echo "install-agent-clis.sh: install finished but the CLIs are not in place (see above)" >&2; exit 1; }
fi

for entry in "${PINS[@]}"; do
  read -r pkg version bin <<<"$entry"
  log "$bin $version ($pkg) -> $BIN/$bin"
done
echo "$BIN"
