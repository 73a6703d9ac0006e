#!/usr/bin/env bash
# Installs ledbridge as a systemd service:
#   sudo ./systemd/install.sh BINARY
# BINARY is a ledbridge built for this machine (systemd/build-release.sh makes them in dist/).
# Copies the binary to /usr/local/bin, the unit to /etc/systemd/system, the example config to
# /etc/ledbridge/config.yaml and an empty secrets file /etc/ledbridge/env (mode 0600) unless they
# exist, reloads systemd, restarts a running service, and prints the next steps.
# On an upgrade the existing config (with the variables of /etc/ledbridge/env, as the service sees
# them) is checked by the new binary first, as root and then with the rights of an unprivileged
# user (the service runs as a dynamic user, which must be able to read it): if either fails,
# nothing is installed or restarted, since the restarted service would exit with status 78 (an
# invalid configuration, which ledbridge.service does not restart) and stay down.
# DESTDIR=/some/root installs below that folder instead and skips systemctl (for packaging and tests).
set -euo pipefail

usage() { echo "usage: sudo $0 BINARY" >&2; exit 64; }
[ $# -eq 1 ] || usage
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}

[ -f "$bin" ] && [ -x "$bin" ] || { echo "install.sh: $bin is not an executable file" >&2; exit 1; }

# The binary must be built for this system's userland, which is systemd's, not merely one the kernel
# runs: ledbridge.service sets SystemCallArchitectures=native, so on 32-bit Raspberry Pi OS with a
# 64-bit kernel an arm64 binary runs by hand but the service is killed at its first system call.
# (ELF e_machine at byte 18; without dpkg the userland is not known and this is not checked.)
if userland=$(dpkg --print-architecture 2>/dev/null); then
  case $userland in
    amd64) want=62 pick=amd64 ;;
    arm64) want=183 pick=arm64 ;;
    armhf | armel) want=40 pick=armv7 ;;
    *) want='' pick='' ;;
  esac
  machine=$(od -An -t u2 -j 18 -N 2 "$bin" 2>/dev/null | tr -d ' ')
  if [ -n "$want" ] && [ "$machine" != "$want" ]; then
    echo "install.sh: $bin is not built for this system ($userland userland, which systemd runs as):" \
      "under ledbridge.service it would be killed at its first system call; install dist/ledbridge-linux-$pick" >&2
    exit 1
  fi
fi
if ! "$bin" version >/dev/null 2>&1; then
  echo "install.sh: $bin does not run here (built for another architecture?)" >&2
  exit 1
fi
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo)" >&2
  exit 1
fi

# env_value RAW prints the value systemd's EnvironmentFile parser makes of RAW, the text after
# the "=" of one line (systemd.exec(5), "EnvironmentFile="): whitespace around it, a carriage
# return of a file saved with CRLF line ends among it, is dropped; '…' is verbatim; "…" takes the
# shell's double-quote escapes (\" \\ \` \$; any other backslash stays, with its character);
# unquoted, a backslash keeps the character after it. (Values spanning lines are not read.)
env_value() {
  local raw=$1 out='' i c n quoted=''
  raw=${raw#"${raw%%[![:space:]]*}"}
  raw=${raw%"${raw##*[![:space:]]}"}
  case $raw in
    \'*\') printf '%s' "${raw:1:${#raw}-2}"; return ;;
    \"*\") raw=${raw:1:${#raw}-2} quoted=1 ;;
  esac
  for ((i = 0; i < ${#raw}; i++)); do
    c=${raw:i:1}
    if [ "$c" != '\' ] || [ $((i + 1)) -ge ${#raw} ]; then
      out+=$c
      continue
    fi
    n=${raw:i+1:1}
    i=$((i + 1))
    if [ -n "$quoted" ]; then
      case $n in '"' | '\' | '`' | '$') out+=$n ;; *) out+="\\$n" ;; esac
    else
      out+=$n
    fi
  done
  printf '%s' "$out"
}

# check_config BINARY [RUNAS...]: `config check` of the installed config file, in the environment
# the service gets: only the KEY=value lines of its EnvironmentFile, read as systemd reads them
# (env_value), none of the caller's variables. RUNAS, a command prefix, runs the check as another
# user; the config is then named from $root/etc (etc/ledbridge/config.yaml from that working
# folder), so that only the folders the service would pass through are searched with that user's
# rights, not the ones above a DESTDIR.
check_config() {
  local bin=$1 envfile=$root/etc/ledbridge/env line key
  shift
  local vars=()
  if [ -r "$envfile" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      line=${line#"${line%%[![:space:]]*}"}
      case $line in '' | '#'* | ';'*) continue ;; esac
      [[ $line == *=* ]] || continue # systemd ignores a line without "=" too
      key=${line%%=*}
      key=${key%"${key##*[![:space:]]}"}
      vars+=("$key=$(env_value "${line#*=}")")
    done <"$envfile"
  fi
  if [ $# -eq 0 ]; then
    env -i "${vars[@]}" "$bin" config check --config "$root/etc/ledbridge/config.yaml"
  else
    (cd "$root/etc" && env -i "${vars[@]}" "$@" "$bin" config check --config ledbridge/config.yaml)
  fi
}

# check_config_as_service_user BINARY SETPRIV: check_config with the rights ledbridge.service
# has. Under DynamicUser= the service runs as a uid allocated at start, never the config's owner
# nor in its group, so it reads only what others may read; nobody (65534), with no groups, has the
# same rights. BINARY runs from a copy in a folder others may enter (the one given may lie under a
# home folder closed to them), made by mktemp in $TMPDIR or /tmp; when that copy cannot be made
# (a read-only or missing temporary folder) or cannot run as nobody (a noexec /tmp), the check is
# skipped with a line saying so rather than blamed on the config. This function runs where set -e
# has no effect (in an `if`), so each step's failure is handled here: an empty $copy would put the
# binary at /ledbridge.
check_config_as_service_user() {
  local copy status=0
  local runas=("$2" --reuid=65534 --regid=65534 --clear-groups --)
  local skipped="whether ledbridge.service can read the config was not checked"
  if ! copy=$(mktemp -d -t ledbridge-install.XXXXXX 2>&1) || [ ! -d "$copy" ]; then
    echo "install.sh: no temporary folder for a copy of ledbridge (${copy:-mktemp failed}): $skipped"
    return 0
  fi
  if ! chmod 0755 "$copy" 2>/dev/null || ! install -m 0755 "$1" "$copy/ledbridge" 2>/dev/null; then
    echo "install.sh: ledbridge could not be copied to $copy: $skipped"
    rm -rf "$copy"
    return 0
  fi
  if env -i "${runas[@]}" "$copy/ledbridge" version >/dev/null 2>&1; then
    check_config "$copy/ledbridge" "${runas[@]}" || status=$?
  else
    echo "install.sh: ledbridge does not run as nobody from $copy: $skipped"
  fi
  rm -rf "$copy"
  return "$status"
}

# A config check that fails with another status than 78 (EX_CONFIG: the config is invalid) did not
# judge the config: the binary could not run the check (64: a command line it does not take; 2:
# it crashed). That is said as such, not blamed on the file.
not_judged() {
  echo "install.sh: $bin config check$1 failed with exit status $2 without judging the config (78 means an invalid config):" >&2
  echo "  $3" >&2
  echo "Nothing was installed and the service was not restarted." >&2
  exit 1
}

if [ -e "$root/etc/ledbridge/config.yaml" ]; then
  status=0
  problem=$(check_config "$bin" 2>&1 >/dev/null) || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 78 ]; then
    not_judged "" "$status" "$problem"
  elif [ "$status" -eq 78 ]; then
    cat >&2 <<FAIL
install.sh: the existing $root/etc/ledbridge/config.yaml does not pass this ledbridge's check:
  $problem
Nothing was installed and the service was not restarted (it would exit with status 78 and stay down).
Fix it in $root/etc/ledbridge/config.yaml or $root/etc/ledbridge/env (the file alone is checked by
  $bin config check --config $root/etc/ledbridge/config.yaml)
and run install.sh again, which checks both.
FAIL
    exit 1
  fi
  # Switching users needs root and setpriv (util-linux): without them (a DESTDIR install by
  # another user) this check is skipped, saying so.
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: not run as root: whether ledbridge.service can read the config was not checked" >&2
  elif ! setpriv=$(command -v setpriv); then
    echo "install.sh: setpriv (util-linux) not found: whether ledbridge.service can read the config was not checked" >&2
  else
    status=0
    denied=$(check_config_as_service_user "$bin" "$setpriv" 2>&1) || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 78 ]; then
      not_judged " as the service's user" "$status" "$denied"
    elif [ "$status" -eq 78 ]; then
      cat >&2 <<FAIL
install.sh: ledbridge.service could not read the existing $root/etc/ledbridge/config.yaml:
  $denied
The service runs as a dynamic user, neither root nor the file's owner, so the file must be readable
by others and its folders open to them: chmod 644 $root/etc/ledbridge/config.yaml (chmod 755 its
folders), with any secrets in $root/etc/ledbridge/env (mode 0600, read by systemd as root) rather
than in the file. Nothing was installed and the service was not restarted (it would exit with
status 78 and stay down); run install.sh again after the change.
FAIL
      exit 1
    elif [[ $denied == install.sh:* ]]; then
      echo "$denied" >&2
    fi
  fi
  # Warnings (a key whose meaning changed in this version, a file holding secrets readable by
  # others): the upgrade goes on, but the operator should see them now, not only in the journal.
  if [ -n "$problem" ]; then
    printf 'install.sh: %s:
%s
' "$root/etc/ledbridge/config.yaml" "$problem" >&2
  fi
fi

install -d -m 0755 "$root/usr/local/bin" "$root/etc/systemd/system" "$root/etc/ledbridge"
install -m 0755 "$bin" "$root/usr/local/bin/ledbridge"
install -m 0644 "$here/ledbridge.service" "$root/etc/systemd/system/ledbridge.service"
if [ ! -e "$root/etc/ledbridge/config.yaml" ]; then
  install -m 0644 "$here/../configs/ledbridge.example.yaml" "$root/etc/ledbridge/config.yaml"
  created_config=1
fi
if [ ! -e "$root/etc/ledbridge/env" ]; then
  umask 077
  cat >"$root/etc/ledbridge/env" <<'ENV'
# Secrets for ledbridge, read by systemd (mode 0600, root only). One KEY=value per line, e.g.:
# LEDBRIDGE_SUPABASE_KEY=<anon key>
# LEDBRIDGE_SUPABASE_ACCESS_TOKEN=<user JWT for private rooms>
# LEDBRIDGE_STATUS_TOKEN=<token that enables the status page's controls>
ENV
  chmod 0600 "$root/etc/ledbridge/env"
fi

if [ -z "$root" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  # An upgrade takes effect now if the service was running (try-restart leaves a stopped one).
  systemctl try-restart ledbridge.service
fi

cat <<NEXT
ledbridge $("$bin" version | awk '{print $2}') installed.
Next steps:
  1. Set the room:      edit $root/etc/ledbridge/config.yaml (room.code, and supabase.url if you use Supabase)${created_config:+ — a fresh copy of the example}
  2. Put secrets in:    $root/etc/ledbridge/env (LEDBRIDGE_SUPABASE_KEY=…, LEDBRIDGE_STATUS_TOKEN=…)
  3. Start it on boot:  sudo systemctl enable --now ledbridge
  4. Watch it:          journalctl -u ledbridge -f   and   http://$(hostname).local:8080/
  Reload after editing the config: sudo systemctl reload ledbridge (after editing env: restart)
NEXT
