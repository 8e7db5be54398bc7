#!/usr/bin/env bash
# Build and install the pgvector extension for the system PostgreSQL 15.
#
# Why this exists: Debian 12 (bookworm) ships postgresql-15 but no pgvector
# package, and the only registry our machines reach is Debian's. Debian 13
# (trixie) does package pgvector, so we take trixie's *source* package and
# compile it against bookworm's PostgreSQL 15 headers. Only a deb-src line is
# added for trixie, so apt can never pull a trixie binary onto this bookworm
# system by accident.
#
# Idempotent: returns at once when the extension is already installed, so
# .ci/run can call it on every run.
#
# Usage: scripts/ci/install-pgvector.sh        (as root)
# Env:   PG_MAJOR (default 15)
set -euo pipefail

PG_MAJOR="${PG_MAJOR:-15}"
PG_CONFIG="/usr/lib/postgresql/${PG_MAJOR}/bin/pg_config"
CONTROL="/usr/share/postgresql/${PG_MAJOR}/extension/vector.control"
SRC_LIST=/etc/apt/sources.list.d/switchyard-trixie-src.sources

log() { printf '[install-pgvector %5ss] %s\n' "$SECONDS" "$*" >&2; }

# The control file is the last thing `make install` copies that the server
# needs at CREATE EXTENSION time; checking the shared library too catches a
# half-finished earlier install.
if [[ -f "$CONTROL" && -f "$("$PG_CONFIG" --pkglibdir 2>/dev/null)/vector.so" ]]; then
  log "pgvector already installed ($CONTROL), skipping"
  exit 0
fi

if [[ $EUID -ne 0 ]]; then
  echo "install-pgvector.sh must run as root (it installs into the system PostgreSQL)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -q -o DPkg::Lock::Timeout=300)

# Build prerequisites. .ci/run installs these already; repeating the check here
# lets this script run on its own, and costs only a dpkg-query when present.
need=()
for p in "postgresql-${PG_MAJOR}" "postgresql-server-dev-${PG_MAJOR}" build-essential dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || need+=("$p")
done
if ((${#need[@]})); then
  log "installing build prerequisites: ${need[*]}"
  "${APT[@]}" update
  "${APT[@]}" install -y "${need[@]}"
fi

# Reuse the mirror this machine is already configured with for bookworm,
# rather than hard-coding one: whatever mirror/proxy setup apt has keeps working.
MIRROR="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' \
  | awk '$2 == "bookworm" && $3 == "deb" { print $1; exit }')"
if [[ -z "$MIRROR" ]]; then
  echo "install-pgvector.sh: no apt source for bookworm found; cannot derive a Debian mirror" >&2
  exit 1
fi

# deb-src only, in its own file, so removing it undoes the change completely.
# Debian 12's debian-archive-keyring already carries the trixie signing keys.
want="Types: deb-src
URIs: ${MIRROR}
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
if [[ ! -f "$SRC_LIST" ]] || [[ "$(cat "$SRC_LIST")" != "$want" ]]; then
  log "adding trixie deb-src entry: $SRC_LIST"
  printf '%s\n' "$want" >"$SRC_LIST"
fi

t0=$SECONDS
log "apt-get update (to fetch trixie Sources index)"
"${APT[@]}" update
log "apt-get update took $((SECONDS - t0))s"

WORK="$(mktemp -d /tmp/pgvector-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
# apt drops to the _apt user for downloads; giving it the directory avoids the
# "download is performed unsandboxed as root" warning.
chown _apt "$WORK" 2>/dev/null || true

t0=$SECONDS
log "downloading pgvector source package from trixie"
(cd "$WORK" && "${APT[@]}" source --download-only pgvector)
log "download took $((SECONDS - t0))s"

# apt has already verified the files' hashes against the signed Sources index;
# dpkg-source's own .dsc signature check would only warn (maintainer keyring
# not installed), so it is skipped to keep the log clean.
dsc="$(ls "$WORK"/pgvector_*.dsc | head -n1)"
(cd "$WORK" && dpkg-source --no-check -x "$(basename "$dsc")" src >/dev/null)

t0=$SECONDS
# OPTFLAGS="" stops pgvector adding -march=native, so the binary does not
# depend on the CPU of whichever machine happened to build it.
log "building pgvector $(basename "$dsc" .dsc | cut -d_ -f2) against PostgreSQL ${PG_MAJOR}"
make -C "$WORK/src" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >"$WORK/build.log" 2>&1 \
  || { tail -n 50 "$WORK/build.log" >&2; exit 1; }
make -C "$WORK/src" install PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >>"$WORK/build.log" 2>&1 \
  || { tail -n 50 "$WORK/build.log" >&2; exit 1; }
log "build + install took $((SECONDS - t0))s"

[[ -f "$CONTROL" ]] || { echo "install-pgvector.sh: $CONTROL missing after make install" >&2; exit 1; }
log "pgvector installed"
