#!/usr/bin/env bash
# Set up a fresh machine: Debian packages (when root), then a virtual environment with wordcrowd.
# Usage: scripts/bootstrap.sh VENV_DIR EXTRAS   (EXTRAS like "train,dev")
set -euo pipefail
venv=${1:-.venv}
extras=${2:-train}
# On a fresh machine another installer (cloud-init, unattended-upgrades) often holds the package locks for
# a few minutes: wait for it this long instead of failing.
lock_timeout_s=600

apt_get() {
  LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock_timeout_s" "$@"
}

# DPkg::Lock::Timeout covers the dpkg lock (install) but not the package lists lock that `update` takes,
# so `update` is retried while that lock is held, and only then.
update_package_lists() {
  local waited_s=0 output
  until output=$(apt_get update -qq 2>&1); do
    if [[ $output != *"Could not get lock"* ]] || ((waited_s >= lock_timeout_s)); then
      printf '%s\n' "$output" >&2
      return 1
    fi
    if ((waited_s == 0)); then
      echo "bootstrap: another package manager holds the package lists; waiting (up to ${lock_timeout_s} s)" >&2
    fi
    sleep 2
    waited_s=$((waited_s + 2))
  done
}

debs=(ffmpeg espeak-ng sox libsndfile1 libportaudio2)
[[ ",$extras," == *",dev,"* ]] && debs+=(chromium redis-server)  # redis: the shared rate-limit tests
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "bootstrap: installing Debian packages (after any other package manager finishes): ${missing[*]}"
    update_package_lists
    apt_get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "bootstrap: creating virtual environment $venv"
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
echo "bootstrap: installing wordcrowd[$extras] (the first time takes a few minutes: TensorFlow)"
"$venv/bin/python" -m pip install -q -e ".[$extras]"
