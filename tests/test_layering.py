"""The package's folders are its layers, and imports point only downwards.

Every module of ``geolargeimage`` is parsed (not imported) and each of its imports checked
against the table below: the top level is vocabulary without GDAL, ``picture/`` is pure numpy
and Pillow, ``io/`` owns GDAL datasets, ``geo/`` adds CRSs and tile grids, ``source/`` is the
facade over all of them, ``write/`` may use the facade, and the command line and the server
use the public API (and the few vocabulary modules they name). Only ``io/``, ``geo/`` and
``write/`` import ``osgeo``. Imports under ``if TYPE_CHECKING:`` are not run and not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import geolargeimage

PACKAGE = Path(geolargeimage.__file__).parent
#: Layer → the layers its modules may import.
ALLOWED = {
    'top': {'top'},
    'picture': {'top', 'picture'},
    'io': {'top', 'io'},
    'geo': {'top', 'io', 'geo'},
    'source': {'top', 'io', 'geo', 'picture', 'source'},
    'write': {'top', 'io', 'geo', 'picture', 'source', 'write'},
    'server': {'api', 'top', 'geo', 'picture', 'server'},
    'api': {'api', 'top', 'io', 'geo', 'picture', 'source', 'write', 'server'},
}
#: Layers whose modules may import GDAL's Python bindings.
GDAL_LAYERS = {'io', 'geo', 'write'}
#: Modules at the top of the package that are the public API's, not vocabulary.
API_MODULES = {'__init__', '__main__', 'cli', 'demo', 'xarray_backend'}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside the package ('geolargeimage' is the API)."""
    parts = module.split('.')
    if parts == ['geolargeimage']:
        return 'api'
    if parts[1] in ALLOWED:
        return parts[1]
    return 'api' if parts[1] in API_MODULES else 'top'


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def runtime_imports(path: Path, name: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every import that module ``name`` (at ``path``) runs."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and 'TYPE_CHECKING' in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    package = name.split('.')
    if path.name != '__init__.py':
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = '.'.join(base + ([node.module] if node.module else []))
            if module == 'geolargeimage' or (node.level and not node.module):
                # `from geolargeimage import errors`: each name may be a module of its own.
                found += [(node.lineno, f'{module}.{alias.name}') for alias in node.names]
            else:
                found.append((node.lineno, module))
    return found


def package_modules() -> list[Path]:
    return sorted(PACKAGE.rglob('*.py'))


def test_every_folder_is_a_known_layer():
    folders = {path.name for path in PACKAGE.iterdir()
               if path.is_dir() and (path / '__init__.py').exists()}
    assert folders == set(ALLOWED) - {'top', 'api'}


def violations(path: Path, name: str) -> list[str]:
    """The imports of module ``name`` (at ``path``) that break the layering."""
    layer = layer_of(name)
    wrong = []
    for line, module in runtime_imports(path, name):
        if module.split('.')[0] == 'osgeo' and layer not in GDAL_LAYERS:
            wrong.append(f'line {line}: {module} (GDAL belongs to io/, geo/ and write/)')
        if module.split('.')[0] != 'geolargeimage':
            continue
        target = layer_of(module)
        if target not in ALLOWED[layer]:
            wrong.append(f'line {line}: {module} ({target} is not below {layer})')
    return wrong


@pytest.mark.parametrize('path', package_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downwards(path: Path):
    wrong = violations(path, module_name(path))
    assert not wrong, f'{path.relative_to(PACKAGE)} imports ' + '; '.join(wrong)


def test_the_checker_sees_wrong_imports(tmp_path: Path):
    """The rule can fail: a picture module importing io or GDAL, a top-level module importing
    the facade, and relative imports resolved to their layer."""
    module = tmp_path / 'fake.py'
    module.write_text('from osgeo import gdal\nfrom geolargeimage.io import raster\n'
                      'from ..source import tile_source\nfrom . import style\n'
                      'from geolargeimage import errors\n', encoding='utf-8')
    wrong = violations(module, 'geolargeimage.picture.fake')
    assert [text.split(':')[0] for text in wrong] == ['line 1', 'line 2', 'line 3']
    assert violations(module, 'geolargeimage.write.fake') == []
    assert len(violations(module, 'geolargeimage.grid')) == 2  # GDAL and io


def test_public_api_is_stable():
    """What user code imports from the package keeps its names."""
    for name in ('open', 'getTileSource', 'canRead', 'TileSource', 'new', 'ImageSink', 'convert',
                 'validateCOG', 'COGValidation', 'Env', 'network_stats', 'NetworkStats',
                 'set_path_options', 'clear_path_options', 'ImageBytes', 'config', 'constants',
                 'TILE_FORMAT_IMAGE', 'TILE_FORMAT_NUMPY', 'TILE_FORMAT_PIL', 'TileSourceError',
                 'TileGeneralError', 'TileSourceFileNotFoundError', 'GeoLargeImageError'):
        assert hasattr(geolargeimage, name), name
    exported = set(geolargeimage.__all__)
    missing = set(geolargeimage.errors.__all__) - exported
    assert not missing, f'errors not exported from geolargeimage: {sorted(missing)}'
    assert all(getattr(geolargeimage, name) is getattr(geolargeimage.errors, name)
               for name in geolargeimage.errors.__all__)


#: Most lines a module and a function may have (STYLE.md; tables of declarations excepted).
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 500, 60


def oversized(path: Path) -> list[str]:
    """The module ``path`` if it is too long, and its functions that are."""
    text = path.read_text()
    found = [f'{path.name}: {text.count(chr(10))} lines'] \
        if text.count('\n') > MAX_MODULE_LINES else []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f'{path.name}:{node.lineno} {node.name}: {length} lines')
    return found


def test_modules_and_functions_stay_small():
    assert [problem for path in package_modules() for problem in oversized(path)] == []


def test_the_size_check_sees_long_code(tmp_path: Path):
    long_function = 'def f():\n' + '    x = 1\n' * MAX_FUNCTION_LINES
    path = tmp_path / 'long.py'
    path.write_text(long_function + '\n' * MAX_MODULE_LINES)
    assert oversized(path) == [f'long.py: {MAX_MODULE_LINES + MAX_FUNCTION_LINES + 1} lines',
                               f'long.py:1 f: {MAX_FUNCTION_LINES + 1} lines']
