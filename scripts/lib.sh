# lib.sh: helpers sourced by the server scripts in this folder. Not meant to be run.
# shellcheck shell=bash

# Root of all state (data dirs, logs, extracted packages). One sub-folder per service.
INFRA_DIR="${SLUICE_INFRA_DIR:-${XDG_RUNTIME_DIR:-/tmp}/sluice-infra}"
SCRIPT_NAME="$(basename "$0")"

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and switches to service users)"; }

# now_s: seconds since epoch with fractions, for timing messages.
now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# port_in_use PORT: true if something listens on 127.0.0.1:PORT (or any address).
port_in_use() { ss -Htln "( sport = :$1 )" 2>/dev/null | grep -q .; }

# pid_alive PIDFILE: true if the pid in the file is a live process.
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid PIDFILE [SECONDS]: SIGTERM the pid, wait, then SIGKILL. Removes the pid file.
stop_pid() {
  local f="$1" t="${2:-30}" p i
  [ -s "$f" ] || return 0
  p="$(cat "$f")"
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < t * 10; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then log "pid $p did not stop in ${t}s; sending SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

# wait_until SECONDS CMD...: retry CMD every 0.1 s until it succeeds or time runs out.
wait_until() {
  local t="$1" i; shift
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# apt_install PKG...: install the missing ones from the host's apt sources without starting
# their system services (a temporary policy-rc.d denies service starts if none exists).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root
  local t0 made_policy=0
  t0="$(now_s)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  log "installing ${missing[*]} (apt)"
  if ! { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }; then
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    die "apt-get install ${missing[*]} failed"
  fi
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  log "installed in $(elapsed "$t0") s"
}

# debian_mirror: the host's Debian mirror URL (deb822 or one-line sources).
debian_mirror() {
  local m
  m="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v -e security -e nodesource -e google | head -1)"
  [ -n "$m" ] || m="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v -e security | head -1)"
  [ -n "$m" ] || die "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: configure apt's sources first"
  echo "$m"
}

# newer_apt_setup: a private apt state (sid + trixie) under $INFRA_DIR/apt-newer, so that newer
# Debian packages can be downloaded without touching the host's apt setup. Sets APT_NEWER_CONF.
newer_apt_setup() {
  local d="$INFRA_DIR/apt-newer" mirror
  mirror="$(debian_mirror)"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
  printf 'deb %s sid main\ndeb %s trixie main\n' "$mirror" "$mirror" > "$d/sources.list"
  touch "$d/status"
  cat > "$d/apt.conf" <<CONF
Dir::Etc::SourceList "$d/sources.list";
Dir::Etc::SourceParts "/dev/null";
Dir::State::Lists "$d/lists";
Dir::State::status "$d/status";
Dir::Cache "$d/cache";
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Sandbox::User "root";
CONF
  APT_NEWER_CONF="$d/apt.conf"
  # refresh at most once a day
  if [ -z "$(find "$d/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
    log "apt-get update (sid + trixie, private state in $d)"
    APT_CONFIG="$APT_NEWER_CONF" apt-get update -q >/dev/null || die "apt-get update for sid/trixie failed (mirror $mirror)"
  fi
}

# extract_newer ROOT INCLUDE_REGEX EXCLUDE_REGEX PKG...: download PKG and its recursive Depends
# from sid/trixie (only names matching INCLUDE_REGEX and not EXCLUDE_REGEX) and unpack them all
# into ROOT with dpkg-deb -x. Nothing is installed on the host. Marks ROOT/.complete when done.
extract_newer() {
  local root="$1" include="$2" exclude="$3"; shift 3
  [ -e "$root/.complete" ] && return 0
  newer_apt_setup
  local debs="$root.debs" pkgs t0
  t0="$(now_s)"
  rm -rf "$root" "$debs"; mkdir -p "$debs" "$root"
  pkgs="$(APT_CONFIG="$APT_NEWER_CONF" apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances --no-pre-depends "$@" 2>/dev/null | grep -v -e '^ ' -e '^<' | sort -u \
          | grep -E "$include" | grep -E -v "$exclude")" || die "cannot resolve the dependencies of $*"
  log "downloading $(echo "$pkgs" | wc -w) packages from sid/trixie"
  # shellcheck disable=SC2086
  (cd "$debs" && APT_CONFIG="$APT_NEWER_CONF" apt-get download -q $pkgs >/dev/null) || die "apt-get download failed"
  local f
  for f in "$debs"/*.deb; do dpkg-deb -x "$f" "$root" || die "dpkg-deb -x $f failed"; done
  rm -rf "$debs"
  touch "$root/.complete"
  log "unpacked into $root in $(elapsed "$t0") s ($(du -sh "$root" | cut -f1))"
}

# ensure_user NAME: create a system user/group if missing (servers refuse to run as root).
ensure_user() {
  id "$1" >/dev/null 2>&1 && return 0
  need_root
  groupadd --system "$1" 2>/dev/null || true
  useradd --system --gid "$1" --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$1" || die "cannot create user $1"
}

usage_common() {
  cat <<USAGE
usage: $SCRIPT_NAME start|stop|status|clean|env
  start   install if needed, initialise the data dir on first use, start (no-op if running)
  stop    stop the server (data kept)
  status  exit 0 if running
  clean   stop and delete this service's state dir
  env     print connection settings as shell assignments
USAGE
}
