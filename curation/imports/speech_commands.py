"""Read a Speech Commands folder: `<word>/<speaker>_nohash_<n>.wav`, and `_background_noise_/*.wav`."""

from __future__ import annotations

import re
from pathlib import Path

from collector.models import AMBIENCE_WORD
from curation.imports.sources import Scan, SourceError, SourceFile, normalise_word

FORMAT = "speech-commands"
NOISE_FOLDER = "_background_noise_"
FILE_NAME = re.compile(r"(?P<speaker>[A-Za-z0-9]+)_nohash_(?P<take>[0-9]+)\.wav")
# the licence and terms of Google's Speech Commands (v0.01 and v0.02): CC BY 4.0, described in the paper
TERMS_URL = "https://arxiv.org/abs/1804.03209"
# the source speaker the room recordings of _background_noise_ are held under (they name no speaker)
NOISE_SPEAKER = NOISE_FOLDER


def scan(root: Path, words: set[str]) -> Scan:
    """Return the files of a Speech Commands folder whose word is one of `words`; its noise as ambience.

    The `_background_noise_` files are the campaign's ambience when `words` holds AMBIENCE_WORD.
    """
    if not root.is_dir():
        raise SourceError(f"{root} is not a directory; a Speech Commands source is a folder of word folders")
    folders = sorted(path for path in root.iterdir() if path.is_dir())
    found, seen = Scan(), 0
    for folder in folders:
        wavs = sorted(folder.glob("*.wav"))
        seen += len(wavs)
        if folder.name == NOISE_FOLDER and AMBIENCE_WORD in words:
            found.files.extend(SourceFile(wav, AMBIENCE_WORD, NOISE_SPEAKER) for wav in wavs)
        elif folder.name == NOISE_FOLDER:
            found.passed_over["no_ambience_in_campaign"] += len(wavs)
        elif folder.name.startswith("_"):  # _silence_, _unknown_ and the like are not words
            found.passed_over["not_a_word_folder"] += len(wavs)
        elif normalise_word(folder.name) not in words:
            found.passed_over["not_a_campaign_word"] += len(wavs)
        else:
            _add_word(found, folder, normalise_word(folder.name), wavs)
    if not seen:
        raise SourceError(f"{root} holds no <word>/*.wav files; is it a Speech Commands folder?")
    return found


def _add_word(found: Scan, folder: Path, word: str, wavs: list[Path]) -> None:
    for wav in wavs:
        match = FILE_NAME.fullmatch(wav.name)
        if match is None:
            found.refused["not_speaker_nohash_n"] += 1  # no speaker to hold it under
            continue
        found.files.append(SourceFile(wav, word, match["speaker"].lower()))
