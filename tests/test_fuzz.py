"""Damaged TIFFs get a result or one of our errors: never a crash, a hang or a foreign exception.

A seeded corpus of mutated TIFFs (see ``fuzz_corpus``) goes through ``open``, ``getMetadata``,
``getThumbnail`` (numpy and PNG), ``getTile(0, 0, 0)`` and ``getRegion``, each file in a worker
subprocess with a time-out. The CI corpus is small; ``make fuzz`` runs a long one
(``GEOLARGEIMAGE_FUZZ_LONG=<count>``, with ``GEOLARGEIMAGE_FUZZ_SEED``).

A failing file is made again alone with::

    python tests/fuzz_corpus.py make DIR --count COUNT --seed SEED
    python tests/fuzz_corpus.py run DIR/<file>
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest
from fuzz_corpus import BASES, Outcome, run_corpus, write_bases, write_corpus

CI_COUNT, CI_SEED = 300, 12
LONG_COUNT = int(os.environ.get('GEOLARGEIMAGE_FUZZ_LONG') or 0)
LONG_SEED = int(os.environ.get('GEOLARGEIMAGE_FUZZ_SEED') or 2026)
#: seconds a file gets for all its calls
TIMEOUT = float(os.environ.get('GEOLARGEIMAGE_FUZZ_TIMEOUT') or 15)
CALLS = ('open', 'getMetadata', 'getThumbnail(numpy)', 'getThumbnail(PNG)', 'getTile(0,0,0)',
         'getRegion')


@pytest.fixture(scope='module')
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_bases(tmp_path_factory.mktemp('fuzz_bases'))


def foreign_report(corpus, outcomes: dict[str, Outcome], count: int, seed: int) -> list[str]:
    """One line per kind of foreign outcome: how many files, one example and its mutation."""
    kinds: dict[tuple[str, str, str], list] = collections.defaultdict(list)
    for path, item in corpus:
        for call, what, message in outcomes[str(path)].foreign():
            first_line = message.strip().splitlines()[0] if message.strip() else ''
            kinds[(call, what, first_line[:160])].append(item)
    lines = []
    for (call, what, message), items in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        example = items[0]
        lines.append(f'{len(items)} × {call} → {what}: {message}\n'
                     f'    e.g. {example.name} ({example.description})')
    if lines:
        lines.append(f'remake with: python tests/fuzz_corpus.py make DIR --count {count} '
                     f'--seed {seed}; then python tests/fuzz_corpus.py run DIR/<file>')
    return lines


def check_corpus(bases: dict[str, Path], folder: Path, count: int, seed: int,
                 processes: int) -> None:
    corpus = write_corpus(bases, folder, count, seed)
    outcomes = run_corpus([path for path, _ in corpus], processes=processes, timeout=TIMEOUT)
    report = foreign_report(corpus, outcomes, count, seed)
    assert not report, '\n' + '\n'.join(report)
    # the corpus reaches past open: a good share of the files open, and some survive every call
    opened = sum(outcome.calls.get('open') == 'ok' for outcome in outcomes.values())
    clean = sum(all(outcome.calls.get(call) == 'ok' for call in CALLS)
                for outcome in outcomes.values())
    assert opened >= count * 0.4 and clean >= count * 0.15, (opened, clean)


def test_bases_pass_every_call(bases):
    outcomes = run_corpus(list(bases.values()), processes=1, timeout=TIMEOUT)
    assert set(bases) == set(BASES)
    for outcome in outcomes.values():
        assert outcome.crash is None
        assert outcome.calls == dict.fromkeys(CALLS, 'ok'), outcome.path


def test_fuzz_corpus(bases, tmp_path):
    check_corpus(bases, tmp_path, CI_COUNT, CI_SEED, processes=2)


@pytest.mark.timeout(7200)
@pytest.mark.skipif(not LONG_COUNT,
                    reason='the long corpus: make fuzz (GEOLARGEIMAGE_FUZZ_LONG=count)')
def test_fuzz_long_corpus(bases, tmp_path):
    check_corpus(bases, tmp_path, LONG_COUNT, LONG_SEED, processes=max(2, os.cpu_count() or 2))
