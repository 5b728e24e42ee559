#!/usr/bin/env bash
# Set up a fresh machine: Debian packages (when root), then a virtual environment with wordcrowd.
# Usage: scripts/bootstrap.sh VENV_DIR EXTRAS   (EXTRAS like "train,dev")
set -euo pipefail
venv=${1:-.venv}
extras=${2:-train}

debs=(ffmpeg espeak-ng sox libsndfile1 libportaudio2)
[[ ",$extras," == *",dev,"* ]] && debs+=(chromium redis-server)  # redis: the shared rate-limit tests
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
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
