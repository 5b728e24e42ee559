"""`wordcrowd curate check` on real stored clips with generated defects (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from collector.blobs import open_blob_store
from collector.campaigns import create_campaign, get_campaign
from collector.db import session_scope
from collector.migrate import upgrade
from collector.models import ClipFinding
from curation.checks import CheckContext, load_records, review_order, run_checks
from tests.conftest import SECRET
from tests.defects import Builder, Corpus, build
from wordcrowd.cli import main

KEYWORDS = ("yes", "no", "stop")
README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


@pytest.fixture
def stored(db_url: str, tmp_path: Path) -> tuple[dict[str, str], Corpus]:
    """A migrated store with a checked campaign `kws` (clean takes and two of each defect) and `other`."""
    upgrade(db_url)
    storage_url = f"file://{tmp_path / 'blobs'}"
    with session_scope(db_url) as session:
        campaign = create_campaign(session, "kws", list(KEYWORDS), title="Checks", language="en",
                                   licenses=["CC0-1.0"])
        other = create_campaign(session, "other", list(KEYWORDS), title="Other", language="en",
                                licenses=["CC0-1.0"])
        corpus = build(Builder(session, open_blob_store(storage_url, None), campaign, other), KEYWORDS,
                       speakers=8, per_defect=2, seed=1)
    env = {"WORDCROWD_DATA_DIR": str(tmp_path), "WORDCROWD_DATABASE_URL": db_url,
           "WORDCROWD_STORAGE_URL": storage_url, "WORDCROWD_SECRET_KEY": SECRET}
    return env, corpus


def _check(env: dict[str, str], *args: str):
    return CliRunner().invoke(main, ["curate", "check", "kws", "--no-progress", *args], env=env)


def _by_clip(lines: list[dict]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for line in lines:
        found[line["clip_id"]].add((line["check"], line["reason"]))
    return found


def test_check_finds_generated_defects(stored, tmp_path: Path) -> None:
    """Every defect kind is found by its check, clean takes mostly pass, findings are stored and written."""
    env, corpus = stored
    out = tmp_path / "findings.jsonl"
    result = _check(env, "--findings", str(out), "--workers", "2")
    assert result.exit_code == 0, result.output
    assert f"checked {len(corpus.truth)} clips of kws" in result.output and "near_duplicate:" in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {"clip_id", "check", "reason", "score"} <= set(lines[0])
    found = _by_clip(lines)
    checks = {clip: {check for check, _ in pairs} for clip, pairs in found.items()}
    assert all(("quality", "silent") in found[c] for c in corpus.of("silence"))
    assert all(found[c] & {("quality", "silent"), ("quality", "no_speech")} for c in corpus.of("noise_only"))
    assert all(("quality", "clipping") in found[c] for c in corpus.of("clipping"))
    assert all("duplicate" in checks[c] for c in corpus.of("duplicate"))
    assert all("near_duplicate" in checks[c] for c in corpus.of("near_duplicate"))
    assert any(checks.get(c, set()) & {"quality", "outlier", "wrong_word"} for c in corpus.of("truncation"))
    assert any(checks.get(c, set()) & {"wrong_word", "outlier"} for c in corpus.of("wrong_word"))
    clean = corpus.of(None)
    assert not any(checks.get(c, set()) & {"duplicate", "near_duplicate"} for c in clean)
    # a handful at most: the rate (≤ 5 %) is measured on thousands of clips in benchmarks/checks.py
    assert sum(bool(checks.get(c)) for c in clean) <= 3, [found[c] for c in clean if c in found]
    with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:
        assert session.scalar(select(func.count(ClipFinding.id))) == len(lines)
        top = review_order(session, get_campaign(session, "kws"), limit=3)
    assert top[0][1] == 1.0 and top[0][0] in {line["clip_id"] for line in lines if line["score"] == 1.0}


def test_rerun_replaces_only_that_checks_findings(stored) -> None:
    """Running one check again replaces its findings and leaves the other checks' findings alone."""
    env, _corpus = stored
    assert _check(env, "--only", "quality,duplicate").exit_code == 0
    url = env["WORDCROWD_DATABASE_URL"]

    def counts() -> dict[str, int]:
        with session_scope(url) as session:
            query = select(ClipFinding.check_name, func.count()).group_by(ClipFinding.check_name)
            return dict(session.execute(query).all())

    first = counts()
    assert first["quality"] >= 6 and first["duplicate"] == 2
    result = _check(env, "--only", "quality")
    assert result.exit_code == 0, result.output
    assert "duplicate" not in result.output and counts() == first


def _predictions(path: Path, records, flipped: set[str]) -> None:
    """Write confident out-of-fold predictions that contradict the label of the `flipped` clips."""
    classes = ["_silence_", "_unknown_", *KEYWORDS]
    rows = ["\t".join(["clip_id", "label", *classes])]
    rng = np.random.default_rng(3)
    for record in records:
        truth = classes.index(record.keyword)
        wrong = KEYWORDS[(KEYWORDS.index(record.keyword) + 1) % len(KEYWORDS)]
        label = wrong if record.clip_id in flipped else record.keyword
        probabilities = rng.dirichlet(np.ones(len(classes))) * 0.1
        probabilities[truth] += 0.9
        rows.append("\t".join([record.clip_id, label, *(f"{p:.6f}" for p in probabilities)]))
    rows.append("\t".join(["0" * 32, "yes", "0", "0", "1", "0", "0"]))  # a clip of another campaign
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_label_issues_from_predictions(stored, tmp_path: Path) -> None:
    """cleanlab's confident learning finds the clips whose labels contradict confident predictions."""
    env, _corpus = stored
    with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:
        records = load_records(session, get_campaign(session, "kws"))
    flipped = {records[3].clip_id, records[10].clip_id, records[20].clip_id}
    predictions = tmp_path / "oof.tsv"
    _predictions(predictions, records, flipped)
    out = tmp_path / "labels.jsonl"
    result = _check(env, "--only", "label_issue", "--predictions", str(predictions), "--findings", str(out))
    assert result.exit_code == 0, result.output
    found = {json.loads(line)["clip_id"] for line in out.read_text().splitlines()}
    assert found == flipped
    assert "1 prediction rows name no clip of kws" in result.output


@pytest.mark.parametrize("args, message", [
    (["--only", "spelling"], "unknown check spelling"),
    (["--only", "label_issue"], "needs --predictions"),
])
def test_bad_options_are_one_line_errors(stored, args: list[str], message: str) -> None:
    """A mistake ends as one sentence and a non-zero exit, and stores nothing."""
    env, _corpus = stored
    result = _check(env, *args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:
        assert session.scalar(select(func.count(ClipFinding.id))) == 0


def test_bad_predictions_file_is_one_line_error(tmp_path: Path) -> None:
    """A predictions file whose rows do not add up is refused with its line number."""
    upgrade(url := f"sqlite:///{tmp_path / 'w.db'}")
    with session_scope(url) as session:
        create_campaign(session, "kws", list(KEYWORDS), title="t", language="en", licenses=["CC0-1.0"])
    bad = tmp_path / "oof.tsv"
    bad.write_text("clip_id\tlabel\tyes\tno\nabc\tyes\t0.7\t0.7\n")
    env = {"WORDCROWD_DATA_DIR": str(tmp_path), "WORDCROWD_DATABASE_URL": url, "WORDCROWD_SECRET_KEY": SECRET}
    result = _check(env, "--predictions", str(bad))
    assert result.exit_code == 1 and "line 2" in result.output and "add up to 1" in result.output
    unknown = CliRunner().invoke(main, ["curate", "check", "nope"], env=env)
    assert unknown.exit_code == 1 and "no campaign 'nope'" in unknown.output


def test_pool_and_one_process_agree(stored) -> None:
    """Map and reduce over small chunks in a two-process pool find exactly what one process finds; a
    campaign too small for a pool runs in one process."""
    env, corpus = stored
    runs = []
    for workers in (1, 2):
        with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:
            runs.append(run_checks(session, get_campaign(session, "kws"),
                                   CheckContext(env["WORDCROWD_STORAGE_URL"]), workers=workers,
                                   progress=False, chunk_size=8))
    assert [run.workers for run in runs] == [1, 2]
    one, pool = ({(f.clip_id, f.check, f.reason, round(f.score, 4)) for f in run.findings} for run in runs)
    assert one == pool
    with session_scope(env["WORDCROWD_DATABASE_URL"]) as session:  # a few clips: no pool is worth starting
        small = run_checks(session, get_campaign(session, "kws"), CheckContext(env["WORDCROWD_STORAGE_URL"]),
                           workers=2, progress=False)
    assert small.workers == 1 and {(f.clip_id, f.check, f.reason, round(f.score, 4))
                                   for f in small.findings} == one
    assert set(corpus.of("silence")) | set(corpus.of("clipping")) <= {clip for clip, *_ in one}


def test_curate_check_imports_no_tensorflow(tmp_path: Path) -> None:
    """`curate check` runs without importing TensorFlow or the training package."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    code = ("import sys; from click.testing import CliRunner; from wordcrowd.cli import main; "
            "from collector.migrate import upgrade; from collector.db import session_scope; "
            "from collector.campaigns import create_campaign; "
            f"upgrade({url!r}); s = session_scope({url!r}); session = s.__enter__(); "
            "create_campaign(session, 'kws', ['yes', 'no'], title='t', language='en', licenses=['CC0-1.0']); "
            "s.__exit__(None, None, None); "
            "r = CliRunner().invoke(main, ['curate', 'check', 'kws', '--no-progress']); "
            "assert r.exit_code == 0, r.output; import cleanlab.filter, cleanlab.rank, faiss; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'training', 'keras')]; "
            "assert not bad, bad")
    env = {"WORDCROWD_DATA_DIR": str(tmp_path), "WORDCROWD_DATABASE_URL": url, "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_every_check_option_is_in_the_readme() -> None:
    """The README's command table names `curate check` and every one of its options."""
    from curation.cli import check

    assert "wordcrowd curate check" in README
    for option in check.params:
        for name in option.opts:
            if name.startswith("--"):
                assert name in README, name


def test_fingerprint_ignores_gain_and_correlation_separates_replays_from_takes() -> None:
    """The near-duplicate features: gain cancels in the fingerprint; the waveform check tells a replay
    with added noise (≥ 0.9) from another take of the same word in the same voice (< 0.9)."""
    from curation.checks.duplicates import MIN_CORRELATION, peak_correlation
    from curation.checks.features import fingerprint, log_mel
    from tests.defects import replay, take

    rng = np.random.default_rng(5)
    first, second = take("yes", 0, 0, rng), take("yes", 0, 1, rng)
    quiet = first * 0.25
    assert float(fingerprint(log_mel(first)) @ fingerprint(log_mel(quiet))) > 0.999
    assert peak_correlation(first, replay(first, rng), 1600) >= MIN_CORRELATION
    assert peak_correlation(first, second, 1600) < MIN_CORRELATION


def test_canonical_decoder_reads_what_the_collector_writes() -> None:
    """The fast canonical-WAV reader returns exactly the samples collector.canonical wrote; other WAV
    layouts (stereo here) still decode, through soundfile."""
    from collector.canonical import wav_bytes
    from curation.checks.records import decode_canonical
    from tests.speech import wav_bytes as encode_wav

    pcm = np.random.default_rng(2).normal(0, 3000, 16000).clip(-32768, 32767).astype("<i2")
    assert np.array_equal(decode_canonical(wav_bytes(pcm)), pcm)
    stereo = encode_wav(np.stack([pcm, pcm], axis=1) / 32768.0, 16000)
    assert np.array_equal(decode_canonical(stereo), pcm)


def test_word_embeddings_of_a_batch_are_each_clips_own() -> None:
    """The batched word embedding gives every clip the vector it gets alone (unit length, gain-free)."""
    from curation.checks.features import log_mel, word_embedding
    from tests.defects import take

    rng = np.random.default_rng(8)
    clips = np.zeros((3, 16000), dtype=np.float32)
    for row, word in enumerate(("yes", "no", "stop")):
        samples = take(word, row, 0, rng)[:16000]
        clips[row, :len(samples)] = samples
    mels = log_mel(clips)
    batch = word_embedding(mels)
    for row in range(3):
        assert np.allclose(batch[row], word_embedding(mels[row]), atol=1e-5)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert np.allclose(word_embedding(log_mel(clips[0] * 0.3)), batch[0], atol=1e-4)
