"""Every ``>>>`` example in the documentation and in the library's docstrings runs and gives the
output it shows.

The documentation files (``docs/*.md`` and ``README.md`` when they hold ``>>>`` examples) run from
the repository root, so ``data/sample.tif`` resolves, with ``outdir`` bound to a fresh temporary
folder for the examples that write files. Each file and each module is one test.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import geolargeimage

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _has_examples(text: str) -> bool:
    return any(line.lstrip().startswith('>>> ') for line in text.splitlines())


def _doc_files() -> list[Path]:
    candidates = sorted((ROOT / 'docs').glob('*.md')) + [ROOT / 'README.md']
    return [path for path in candidates
            if path.is_file() and _has_examples(path.read_text(encoding='utf-8'))]


def _modules_with_examples() -> list[str]:
    names = [geolargeimage.__name__]
    names += [info.name for info in pkgutil.walk_packages(geolargeimage.__path__,
                                                          geolargeimage.__name__ + '.')]
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        origin = Path(spec.origin) if spec and spec.origin else None
        if origin and origin.suffix == '.py' and _has_examples(origin.read_text(encoding='utf-8')):
            found.append(name)
    return found


def test_usage_guide_is_collected():
    """The usage guide exists and holds examples, so the parametrized test below is not empty."""
    assert ROOT / 'docs' / 'usage.md' in _doc_files()


@pytest.mark.parametrize('path', _doc_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_doc_examples(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    outdir = tmp_path / 'out'
    outdir.mkdir()
    result = doctest.testfile(str(path), module_relative=False, optionflags=OPTIONS,
                              globs={'outdir': outdir}, report=False, encoding='utf-8')
    assert result.attempted > 0, f'{path} has no examples'
    assert result.failed == 0, f'{result.failed} of {result.attempted} examples in {path} failed'


@pytest.mark.parametrize('name', _modules_with_examples())
def test_module_examples(name: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=OPTIONS, report=False)
    assert result.attempted > 0, f'{name} has no examples'
    assert result.failed == 0, f'{result.failed} of {result.attempted} examples in {name} failed'
