"""The package's layers, read from its own import statements (those inside
functions too): nothing imports a layer above its own, the subpackages form
no circle, and the tools share code only through the package."""
import ast
import re
from collections import defaultdict

import pytest

from tests.conftest import REPO_ROOT

#: docs/architecture.md: each top-level part of bafenet and its layer.
LAYERS = {
    'version': 0, 'dependencies': 0, 'registry': 0,
    'utils': 1,
    'datasets': 2, 'engine': 2, 'visualization': 2, 'testing': 2,
    'models': 3, 'evaluation': 3,
    'apis': 4, 'deployment': 4,
    'benchmarks': 5,
}


def imported_modules(path, package):
    """Absolute names of the modules a file imports (relative imports
    resolved against ``package``, the dotted package of the file)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[:len(package.split('.')) -
                                        node.level + 1]
                names.append('.'.join(base + [node.module or '']).strip('.'))
            else:
                names.append(node.module)
    return names


def part_edges():
    """``{(importer part, imported part): [file, ...]}`` between the
    top-level parts of bafenet."""
    edges = defaultdict(list)
    for path in sorted((REPO_ROOT / 'bafenet').rglob('*.py')):
        parts = path.relative_to(REPO_ROOT).with_suffix('').parts
        if len(parts) < 2 or parts[1] == '__init__':
            continue  # the package's face imports its checks only
        package = '.'.join(parts[:-1]) if parts[-1] != '__init__' else \
            '.'.join(parts[:-1])
        for name in imported_modules(path, package):
            if name and name.split('.')[0] == 'bafenet' and '.' in name:
                target = name.split('.')[1]
                if target != parts[1]:
                    edges[(parts[1], target)].append(
                        str(path.relative_to(REPO_ROOT)))
    return edges


def test_every_part_has_a_layer():
    parts = {
        p.stem if p.is_file() else p.name
        for p in (REPO_ROOT / 'bafenet').iterdir()
        if (p.suffix == '.py' and p.stem != '__init__') or (
            p.is_dir() and (p / '__init__.py').exists())
    }
    assert parts == set(LAYERS)


def test_nothing_imports_upward():
    upward = {
        edge: files
        for edge, files in part_edges().items()
        if LAYERS[edge[1]] > LAYERS[edge[0]]
    }
    assert upward == {}


def test_no_import_circle_between_parts():
    graph = defaultdict(set)
    for importer, imported in part_edges():
        graph[importer].add(imported)

    def reaches(start, goal, seen=()):
        return any(nxt == goal or (
            nxt not in seen and reaches(nxt, goal, seen + (nxt, )))
                   for nxt in graph[start])

    circles = [part for part in LAYERS if reaches(part, part)]
    assert circles == []


def test_the_checker_sees_a_circle(tmp_path):
    """The reader above resolves relative imports: a file of models that
    imports ``..apis`` is seen as models -> apis."""
    path = tmp_path / 'head.py'
    path.write_text('from ..apis import cli\nimport bafenet.utils\n')
    assert imported_modules(path, 'bafenet.models') == [
        'bafenet.apis', 'bafenet.utils'
    ]


TOOLS = sorted((REPO_ROOT / 'tools').rglob('*.py'))


@pytest.mark.parametrize('path', TOOLS, ids=lambda p: p.name)
def test_tools_share_code_only_through_the_package(path):
    text = path.read_text()
    assert not re.search(r'\bsys\.path\b', text), path
    siblings = {p.stem for p in TOOLS}
    for name in imported_modules(path, ''):
        assert name.split('.')[0] not in siblings, (path, name)
