"""`wordcrowd simulate`: a synthetic crowd through the real HTTP API, with its ground truth."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import IO, Any

import click

from collector.campaigns import DEFAULT_KEYWORDS
from simulation.client import ApiClient, SimulationError
from simulation.crowd import VoteOptions, campaign_words, pick_campaign, summary
from simulation.crowd import simulate as run_crowd
from simulation.local_server import local_collector
from simulation.plan import CrowdSpec, PlanError, parse_skew
from simulation.synth import SynthesisError, espeak_path
from simulation.takes import DEFECTS
from simulation.voices import VOICE_POOLS

CROWD_CAMPAIGN = "crowd"  # the campaign --serve makes for --auxiliary-words or --ambience-rate


def _snr_range(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[float, float]:
    """Parse LOW:HIGH dB."""
    try:
        low, high = (float(part) for part in value.split(":"))
    except ValueError:
        raise click.BadParameter("give LOW:HIGH in dB, e.g. 5:40") from None
    if low > high:
        raise click.BadParameter("LOW must not be above HIGH")
    return low, high


def _defect_list(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    """Parse a comma-separated list of defect names."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in DEFECTS]
    if unknown:
        raise click.BadParameter(f"unknown defect {unknown[0]!r} (defects: {', '.join(DEFECTS)})")
    return names


def _word_list(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
    """Parse a comma-separated list of words (None when the option is not given)."""
    if value is None:
        return None
    words = tuple(word.strip().lower() for word in value.split(",") if word.strip())
    if not words:
        raise click.BadParameter("give at least one word, e.g. bird,house")
    return words


def serve_campaign(slug: str | None, auxiliary: tuple[str, ...] | None,
                   ambience_rate: float) -> tuple[str, list[str]] | None:
    """With --serve: the campaign to make for auxiliary words or ambience (slug, `campaign create` args)."""
    if not auxiliary and not ambience_rate:
        return None
    name = slug or CROWD_CAMPAIGN
    arguments = [name, "--keywords", ",".join(DEFAULT_KEYWORDS), "--title", "Simulated crowd"]
    if auxiliary:
        arguments += ["--auxiliary-words", ",".join(auxiliary)]
    return name, arguments + (["--ambience"] if ambience_rate else [])


def _environment(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """Parse WORDCROWD_NAME=VALUE settings for the local collector."""
    pairs = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("WORDCROWD_"):
            raise click.BadParameter(f"{item!r} is not WORDCROWD_NAME=VALUE")
        pairs[name] = value
    return pairs


def _progress(quiet: bool) -> Any:
    """Return a progress-bar wrapper for iterables (silent with --quiet)."""
    from tqdm import tqdm

    return lambda iterable, **kwargs: tqdm(iterable, disable=quiet, file=sys.stderr, **kwargs)


@click.command()
@click.option("--server", metavar="URL",
              help="The collector to talk to (its limits raised, docs/simulate.md).")
@click.option("--serve", "serve", is_flag=True,
              help="Start a local `wordcrowd serve` with raised limits instead.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --serve: keep the local collector's store here (default: a temporary one, removed).")
@click.option("--serve-env", multiple=True, callback=_environment, metavar="WORDCROWD_NAME=VALUE",
              help="With --serve: one more setting for the local collector (repeatable).")
@click.option("--speakers", type=click.IntRange(1), required=True, help="Synthetic contributors.")
@click.option("--takes", type=click.IntRange(0), default=10, show_default=True,
              help="Takes per speaker on average.")
@click.option("--campaign", metavar="SLUG", help="Campaign to record for (default: the server's first).")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same crowd, same bytes.")
@click.option("--pool", type=click.Choice(sorted(VOICE_POOLS)), default="all", show_default=True,
              help="espeak-ng voices to draw speakers from (tune and holdout are disjoint).")
@click.option("--snr", default="5:40", show_default=True, callback=_snr_range, metavar="LOW:HIGH",
              help="Range of the takes' speech-to-noise ratio in dB.")
@click.option("--defect-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of takes that carry a defect.")
@click.option("--defects", default=",".join(DEFECTS), show_default=True, callback=_defect_list,
              help="Defects to draw from, comma-separated.")
@click.option("--skew", multiple=True, metavar="SPEC",
              help="KEYWORD:female|male:SHARE (who says a keyword) or speaker:SHARE (one speaker's share of "
                   "all takes); repeatable.")
@click.option("--profile-share", type=click.FloatRange(0, 1), default=0.7, show_default=True,
              help="Share of speakers who declare their demographics.")
@click.option("--votes", type=click.IntRange(0, 50), default=5, show_default=True,
              help="Clips each speaker asks to review and votes on (0: no votes).")
@click.option("--voter-error", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Share of votes that get the clip wrong.")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the ground truth here as JSON lines (docs/simulate.md).")
@click.option("--workers", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Concurrent HTTP requests.")
@click.option("--auxiliary-words", "auxiliary", metavar="a,b,…", callback=_word_list,
              help="Auxiliary words the crowd says beside the keywords (default: all the campaign's). With "
                   "--serve they make the local campaign.")
@click.option("--ambience-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of speakers who also send 10-30 s of their room (--defect-rate of them with "
                   "speech in it).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def simulate(server: str | None, serve: bool, data_dir: Path | None, serve_env: dict[str, str], speakers: int,
             takes: int, campaign: str | None, seed: int, pool: str, snr: tuple[float, float],
             defect_rate: float, defects: tuple[str, ...], skew: tuple[str, ...], profile_share: float,
             votes: int, voter_error: float, truth: Path | None, workers: int,
             auxiliary: tuple[str, ...] | None, ambience_rate: float, quiet: bool) -> None:
    """Run a synthetic crowd through the collector's HTTP API: espeak-ng voices with noise and defects
    enrol, consent, declare a profile, upload and vote; the ground truth goes to --truth."""
    if bool(server) == serve:
        raise click.UsageError("give either --server URL or --serve")
    if (data_dir or serve_env) and not serve:
        raise click.UsageError("--data-dir and --serve-env go with --serve")
    try:
        espeak_path()
        skews = tuple(parse_skew(text) for text in skew)
        with contextlib.ExitStack() as stack:
            made = serve_campaign(campaign, auxiliary, ambience_rate) if serve else None
            url = server or stack.enter_context(local_collector(data_dir, extra=serve_env,
                                                                campaign=made and made[1]))
            client = ApiClient(url)
            chosen = pick_campaign(client, made[0] if made else campaign)
            spec = CrowdSpec(speakers=speakers, takes=takes * speakers, keywords=tuple(chosen["keywords"]),
                             seed=seed, pool=pool, snr_db=snr, defect_rate=defect_rate, defects=defects,
                             skews=skews, auxiliary_words=campaign_words(chosen, auxiliary, ambience_rate),
                             ambience_rate=ambience_rate)
            spec.check()
            sink: IO[str] | None = stack.enter_context(truth.open("w")) if truth else None
            outcome = run_crowd(client, spec, chosen, sink, VoteOptions(votes, voter_error), workers=workers,
                                profile_share=profile_share, progress=_progress(quiet))
    except (SimulationError, SynthesisError, PlanError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{speakers} speakers, {takes * speakers} takes for campaign {chosen['slug']!r} at {url}")
    for line in summary(outcome):
        click.echo(f"  {line}")
