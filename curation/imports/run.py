"""Run an import: skip files already held, ingest the rest (in worker processes), store them by speaker."""

from __future__ import annotations

import hashlib
import multiprocessing
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session
from tqdm import tqdm

from collector.audio import DEFAULT_LIMITS, IngestLimits
from collector.blobs import BlobStore
from collector.clips import store_clip
from collector.errors import ApiError
from collector.ingest import AMBIENCE_IMPORT_MAX_SECONDS, IngestedClip, ambience_limits
from collector.models import AMBIENCE_WORD, Campaign, Consent, Contributor
from curation.imports.sources import Scan, SourceFile
from curation.imports.store import ImportTerms, erased_speakers, held_originals, imported_speaker
from curation.imports.worker import ingest_file

# Speech Commands' background recordings last 60-95 s: kept whole, as the collector keeps room ambience
AMBIENCE_IMPORT_LIMITS = ambience_limits(max_bytes=64 << 20, max_seconds=AMBIENCE_IMPORT_MAX_SECONDS)
BATCH = 256  # files read, checked against the store and ingested together
CHUNK = 8  # files a worker process ingests per round trip


@dataclass
class ImportSummary:
    """What an import did: clips stored, files skipped as held, refused per reason, speakers."""

    source: str
    imported: int = 0
    held: int = 0  # already imported (the campaign has a clip of the same original file)
    erased: int = 0  # files of speakers erased since an earlier import: never imported again
    rejected: Counter[str] = field(default_factory=Counter)  # reason code -> files
    passed_over: Counter[str] = field(default_factory=Counter)  # not for this campaign -> files
    speakers: set[str] = field(default_factory=set)  # source speakers with a clip imported now
    new_speakers: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return the summary for a person, one fact a line."""
        lines = [f"imported {self.imported} clip(s) from {self.source} by {len(self.speakers)} speaker(s) "
                 f"({self.new_speakers} new)",
                 f"skipped {self.held} file(s) already imported"]
        if self.erased:
            lines.append(f"skipped {self.erased} file(s) of speakers erased since an earlier import")
        lines.append(f"rejected {sum(self.rejected.values())} file(s){_reasons(self.rejected)}")
        if self.passed_over:
            lines.append(f"passed over {sum(self.passed_over.values())} file(s) not for this campaign"
                         f"{_reasons(self.passed_over)}")
        return lines + [f"note: {note}" for note in self.notes]


def _reasons(counts: Counter[str]) -> str:
    return ": " + ", ".join(f"{reason} {count}" for reason, count in counts.most_common()) if counts else ""


Mapper = Callable[[Callable[[Any], Any], Iterable[Any]], Iterator[Any]]


@contextmanager
def ingest_mapper(workers: int) -> Iterator[Mapper]:
    """Yield a map over ingest jobs: in this process, or in `workers` fresh worker processes."""
    if workers <= 1:
        yield map
        return
    context = multiprocessing.get_context("spawn")  # fresh workers: no inherited engine or threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield lambda function, jobs: pool.map(function, jobs, chunksize=CHUNK)


def run_import(session: Session, store: BlobStore, campaign: Campaign, scan: Scan, terms: ImportTerms, *,
               limits: IngestLimits = DEFAULT_LIMITS, workers: int = 1,
               progress: bool = True) -> ImportSummary:
    """Import a scanned source into the campaign under these terms; each clip commits on its own."""
    summary = ImportSummary(terms.source, rejected=Counter(scan.refused),
                            passed_over=Counter(scan.passed_over))
    importer = _Importer(session, store, campaign, scan, terms, summary)
    show = progress and sys.stderr.isatty()
    with ingest_mapper(workers) as mapper, tqdm(total=len(scan.files), desc=f"importing {terms.source}",
                                                unit="file", disable=not show, leave=False) as bar:
        files, pending = iter(scan.files), None
        while batch := list(islice(files, BATCH)):
            jobs = importer.to_ingest(batch)
            results = mapper(ingest_file, [(data, item.path.name, *importer.limits(item, limits))
                                           for item, data in jobs])
            # the workers ingest this batch while the previous one is stored
            if pending is not None:
                importer.keep_all(*pending, bar)
            pending = (jobs, results, len(batch))
        if pending is not None:
            importer.keep_all(*pending, bar)
    return summary


class _Importer:
    """One import's state: the campaign's words, the speakers met so far, the summary being counted."""

    def __init__(self, session: Session, store: BlobStore, campaign: Campaign, scan: Scan, terms: ImportTerms,
                 summary: ImportSummary) -> None:
        self.session, self.blobs, self.campaign, self.scan, self.terms = session, store, campaign, scan, terms
        self.summary = summary
        self.keywords = {keyword.word: keyword for keyword in campaign.keywords}
        self.erased = erased_speakers(session, terms.source, scan.speakers)
        self.speakers: dict[str, tuple[Contributor, Consent]] = {}
        session.commit()  # no read transaction held open while files are decoded

    @staticmethod
    def limits(item: SourceFile, word_limits: IngestLimits) -> tuple[IngestLimits, bool]:
        """Return the ingest bounds of a file and whether it is room ambience (kept whole, up to minutes)."""
        if item.word == AMBIENCE_WORD:
            return AMBIENCE_IMPORT_LIMITS, True
        return word_limits, False

    def to_ingest(self, batch: list[SourceFile]) -> list[tuple[SourceFile, bytes]]:
        """Read the batch's files; count and drop the unreadable, held and erased ones."""
        read: list[tuple[SourceFile, bytes, str]] = []
        for item in batch:
            if item.speaker in self.erased:
                self.summary.erased += 1
                continue
            try:
                data = item.path.read_bytes()
            except OSError:
                self.summary.rejected["unreadable"] += 1
                continue
            read.append((item, data, hashlib.sha256(data).hexdigest()))
        held = held_originals(self.session, self.campaign, [sha for _item, _data, sha in read])
        self.session.commit()
        self.summary.held += sum(1 for _item, _data, sha in read if sha in held)
        return [(item, data) for item, data, sha in read if sha not in held]

    def keep_all(self, jobs: list[tuple[SourceFile, bytes]], results: Iterator[IngestedClip | str],
                 files: int, bar: tqdm) -> None:
        """Store a batch's ingested files in order, then advance the progress bar by the batch's files."""
        for (item, _data), result in zip(jobs, results, strict=True):
            self.keep(item, result)
        bar.update(files)

    def keep(self, item: SourceFile, result: IngestedClip | str) -> None:
        """Store one ingested file under its speaker, or count why it was refused."""
        if isinstance(result, str):
            self.summary.rejected[result] += 1
            return
        contributor, consent = self._speaker(item.speaker)
        try:
            store_clip(self.session, self.blobs, campaign=self.campaign, keyword=self.keywords[item.word],
                       contributor=contributor, consent=consent, ingested=result, source=self.terms.source)
        except ApiError as exc:  # duplicate of a clip held, or the speaker erased meanwhile
            self.summary.rejected[exc.code] += 1
            return
        self.summary.imported += 1
        self.summary.speakers.add(item.speaker)

    def _speaker(self, speaker: str) -> tuple[Contributor, Consent]:
        if speaker not in self.speakers:
            contributor, consent, new = imported_speaker(self.session, self.campaign, self.terms, speaker,
                                                         self.scan.profiles.get(speaker))
            self.summary.new_speakers += new
            self.speakers[speaker] = (contributor, consent)
        return self.speakers[speaker]
