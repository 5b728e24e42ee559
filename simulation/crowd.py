"""Run a planned crowd through the real HTTP API: consent, profile, uploads, votes; keep the ground truth."""

from __future__ import annotations

import collections
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from collector.models import AMBIENCE_WORD
from simulation.ambience import AmbiencePlan, plan_ambience, render_ambience
from simulation.client import Answer, ApiClient, SimulationError
from simulation.plan import CrowdSpec, plan_takes
from simulation.takes import CLEAN, REPLAYS, TakePlan, render
from simulation.voices import Speaker, make_crowd

# what a careful listener answers for a defect (DESIGN §6 reasons); replays sound fine, so they get a yes
VOTE_REASON = {"silence": "not_speech", "noise_only": "not_speech", "clipping": "noise",
               "truncation": "cut_off", "wrong_word": "wrong_word"}
OTHER_REASONS = ("wrong_word", "noise", "cut_off", "not_speech")


@dataclass(frozen=True)
class VoteOptions:
    """How the crowd votes: clips asked for per speaker, and how often a voter gets it wrong."""

    per_speaker: int = 5
    error_rate: float = 0.05


@dataclass
class Contributor:
    """A speaker enrolled on the server."""

    speaker: Speaker
    contributor_id: str
    token: str
    declared: bool  # whether the speaker declared their profile


@dataclass
class Outcome:
    """What happened, for the summary: upload answers by defect, votes by answer."""

    uploads: collections.Counter = field(default_factory=collections.Counter)
    votes: collections.Counter = field(default_factory=collections.Counter)


class CrowdRun:
    """One crowd against one server: enrols, uploads and votes in a thread pool, writing the truth."""

    def __init__(self, client: ApiClient, spec: CrowdSpec, campaign: dict[str, Any], truth: IO[str] | None,
                 workers: int = 8, profile_share: float = 0.7, progress: Callable | None = None) -> None:
        self.client, self.spec, self.campaign, self.truth = client, spec, campaign, truth
        self.workers, self.profile_share = workers, profile_share
        self.progress = progress or (lambda iterable, **_: iterable)
        self.contributors: dict[int, Contributor] = {}
        self.clips: dict[str, TakePlan] = {}  # clip id -> the take it holds
        self.take_clip: dict[int, str] = {}  # take index -> clip id
        self.outcome = Outcome()

    def _pool(self, jobs: Iterable, work: Callable, label: str) -> list:
        """Run work(job) for every job in the thread pool; return the results as they complete."""
        jobs = list(jobs)
        with ThreadPoolExecutor(self.workers) as pool:
            futures = [pool.submit(work, job) for job in jobs]
            return [f.result() for f in self.progress(as_completed(futures), total=len(futures), desc=label)]

    def _write(self, record: dict[str, Any]) -> None:
        """Write one ground-truth record as a JSON line."""
        if self.truth is not None:
            self.truth.write(json.dumps(record, sort_keys=True) + "\n")

    # --- enrolment ------------------------------------------------------------------------------------------

    def enrol(self, speaker: Speaker) -> Contributor:
        """Enrol one speaker: contributor, consent to the current text, and (for most) a declared profile."""
        rng = np.random.default_rng([self.spec.seed, 4, speaker.index])
        declares = bool(rng.random() < self.profile_share)
        body = self.client.expect(self.client.call("POST", "/contributors"), 201, what="enrolment")
        who = Contributor(speaker, body["contributor_id"], body["token"], declares)
        slug = self.campaign["slug"]
        document = self.client.expect(self.client.call("GET", f"/campaigns/{slug}/consent"), 200,
                                      what="the consent text")
        licence = str(rng.choice([item["spdx"] for item in document["licenses"]]))
        consent = {"consent_version": document["version"], "license": licence, "age_confirmed": True,
                   "demographics_opt_in": declares}
        self.client.expect(self.client.call("POST", f"/campaigns/{slug}/consent", who.token, consent), 201,
                           what="consent")
        if declares:
            profile = self.client.call("PUT", "/contributors/me/profile", who.token, speaker.profile())
            self.client.expect(profile, 200, what="the profile")
        return who

    # --- uploads --------------------------------------------------------------------------------------------

    def upload(self, plan: TakePlan, plans: dict[int, TakePlan]) -> tuple[TakePlan, Answer]:
        """Render one take and upload it as its speaker."""
        who = self.contributors[plan.speaker.index]
        audio = render(plan, self.spec.seed, plans)
        answer = self.client.call("POST", f"/campaigns/{self.campaign['slug']}/clips", who.token,
                                  upload=({"keyword": plan.keyword}, audio))
        return plan, answer

    def record_upload(self, plan: TakePlan, answer: Answer) -> None:
        """Remember the clip id and write the take's ground truth."""
        body = answer.body or {}
        clip_id = body.get("clip_id") if answer.status == 201 else None
        if clip_id:
            self.clips[clip_id] = plan
            self.take_clip[plan.index] = clip_id
        verdict = body.get("verdict") if clip_id else f"http_{answer.status}"
        self.outcome.uploads[(plan.defect, answer.error_code() or verdict)] += 1
        who = self.contributors[plan.speaker.index]
        self._write({
            "kind": "upload", "take": plan.index, "clip_id": clip_id, "speaker": plan.speaker.index,
            "contributor_id": who.contributor_id, "gender": plan.speaker.gender,
            "declared": plan.speaker.profile() if who.declared else None, "keyword": plan.keyword,
            "spoken": plan.spoken, "voice": plan.speaker.voice, "pitch": plan.speaker.pitch,
            "speed": plan.speaker.speed, "rate_hz": plan.speaker.rate_hz, "noise": plan.speaker.noise,
            "snr_db": plan.snr_db, "defect": plan.defect, "source_take": plan.source,
            "source_clip_id": self.take_clip.get(plan.source) if plan.source is not None else None,
            "http_status": answer.status, "answer": body,
        })

    def upload_all(self, plans: list[TakePlan]) -> None:
        """Upload originals first, then the replays of them (a replay needs its original's answer)."""
        by_index = {plan.index: plan for plan in plans}
        for label, wave in (("uploads", [p for p in plans if p.defect not in REPLAYS]),
                            ("replays", [p for p in plans if p.defect in REPLAYS])):
            answers = self._pool(wave, lambda p: self.upload(p, by_index), label) if wave else []
            for plan, answer in sorted(answers, key=lambda pair: pair[0].index):  # truth in take order
                self.record_upload(plan, answer)

    def upload_ambience(self, plan: AmbiencePlan) -> tuple[AmbiencePlan, Answer]:
        """Render one room recording and upload it as its speaker, under the word _ambience_."""
        who = self.contributors[plan.speaker.index]
        answer = self.client.call("POST", f"/campaigns/{self.campaign['slug']}/clips", who.token,
                                  upload=({"keyword": AMBIENCE_WORD}, render_ambience(plan, self.spec.seed)))
        return plan, answer

    def upload_all_ambience(self, crowd: list[Speaker]) -> None:
        """Upload the room recordings of the speakers who send one; write their ground truth."""
        plans = plan_ambience(crowd, self.spec.ambience_rate, self.spec.defect_rate, self.spec.seed)
        answers = self._pool(plans, self.upload_ambience, "ambience") if plans else []
        for plan, answer in sorted(answers, key=lambda pair: pair[0].speaker.index):
            body = answer.body or {}
            clip_id = body.get("clip_id") if answer.status == 201 else None
            label = "ambience_speech" if plan.spoken else "ambience"
            self.outcome.uploads[(label, answer.error_code() or body.get("verdict") or answer.status)] += 1
            who = self.contributors[plan.speaker.index]
            self._write({
                "kind": "ambience", "clip_id": clip_id, "speaker": plan.speaker.index,
                "contributor_id": who.contributor_id, "seconds": plan.seconds, "level_dbfs": plan.level_dbfs,
                "noise": plan.speaker.noise, "rate_hz": plan.speaker.rate_hz, "spoken": list(plan.spoken),
                "http_status": answer.status, "answer": body,
            })

    # --- votes ----------------------------------------------------------------------------------------------

    def vote_as(self, who: Contributor, options: VoteOptions) -> list[dict[str, Any]]:
        """Ask for clips to review and vote on those of this crowd as a listener would (with errors)."""
        rng = np.random.default_rng([self.spec.seed, 5, who.speaker.index])
        slug = self.campaign["slug"]
        queue = self.client.call("GET", f"/campaigns/{slug}/review?count={options.per_speaker}", who.token)
        records = []
        for item in self.client.expect(queue, 200, what="the review queue").get("clips", []):
            plan = self.clips.get(item["clip_id"])
            if plan is None:
                continue  # someone else's clip on a shared server
            reason = VOTE_REASON.get(plan.defect)
            mistaken = bool(rng.random() < options.error_rate)
            if mistaken:
                reason = None if reason else str(rng.choice(OTHER_REASONS))
            body = {"valid": reason is None, **({"reason": reason} if reason else {})}
            answer = self.client.call("POST", f"/clips/{item['clip_id']}/votes", who.token, body)
            records.append({"kind": "vote", "clip_id": item["clip_id"], "voter": who.speaker.index,
                            "valid": body["valid"], "reason": reason, "mistaken": mistaken,
                            "defect": plan.defect, "http_status": answer.status,
                            "answer": answer.body or {}})
        return records

    def vote_all(self, options: VoteOptions) -> None:
        """Let every speaker vote."""
        if options.per_speaker <= 0:
            return
        results = self._pool(self.contributors.values(), lambda w: self.vote_as(w, options), "votes")
        for records in sorted(results, key=lambda records: records[0]["voter"] if records else -1):
            for record in records:
                self.outcome.votes[record["http_status"]] += 1
                self._write(record)

    def run(self, crowd: list[Speaker], votes: VoteOptions) -> Outcome:
        """Enrol the crowd, upload every planned take, then vote."""
        plans = plan_takes(self.spec, crowd)
        for who in self._pool(crowd, self.enrol, "speakers"):
            self.contributors[who.speaker.index] = who
        self.upload_all(plans)
        self.upload_all_ambience(crowd)
        self.vote_all(votes)
        return self.outcome


def pick_campaign(client: ApiClient, slug: str | None) -> dict[str, Any]:
    """Return the campaign to record for: the named one, or the server's first."""
    campaigns = client.expect(client.call("GET", "/campaigns"), 200, what="the campaign list")["campaigns"]
    for campaign in campaigns:
        if slug is None or campaign["slug"] == slug:
            return campaign
    names = ", ".join(c["slug"] for c in campaigns) or "none"
    raise SimulationError(f"the server has no campaign {slug!r} (campaigns: {names})")


def campaign_words(campaign: dict[str, Any], asked: tuple[str, ...] | None,
                   ambience_rate: float) -> tuple[str, ...]:
    """Return the auxiliary words to say (default: all the campaign's); check the campaign asks for them."""
    offered = tuple(campaign.get("auxiliary_words") or ())
    if ambience_rate > 0 and not campaign.get("ambience"):
        raise SimulationError(f"campaign {campaign['slug']!r} does not ask for room ambience "
                              "(wordcrowd campaign create … --ambience)")
    if asked is None:
        return offered
    if unknown := [word for word in asked if word not in offered]:
        raise SimulationError(f"{unknown[0]!r} is not an auxiliary word of campaign {campaign['slug']!r} "
                              f"({', '.join(offered) or 'it has none'})")
    return asked


def simulate(client: ApiClient, spec: CrowdSpec, campaign: dict[str, Any], truth: IO[str] | None,
             votes: VoteOptions = VoteOptions(), **options: Any) -> Outcome:
    """Run a crowd of spec.speakers through the API, writing ground truth as JSON lines."""
    crowd = make_crowd(spec.speakers, spec.seed, spec.pool)
    return CrowdRun(client, spec, campaign, truth, **options).run(crowd, votes)


def summary(outcome: Outcome) -> list[str]:
    """Return the outcome as lines for a person: upload answers by defect, then votes."""
    lines = []
    for defect in sorted({d for d, _ in outcome.uploads}, key=lambda d: (d != CLEAN, d)):
        answers = {a: n for (d, a), n in outcome.uploads.items() if d == defect}
        lines.append(f"{defect}: " + ", ".join(f"{a} {n}" for a, n in sorted(answers.items())))
    if outcome.votes:
        lines.append("votes: " + ", ".join(f"HTTP {s} × {n}" for s, n in sorted(outcome.votes.items())))
    return lines
