"""Safe checkpoint loading: exactly what mmengine writes is allow-listed."""
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

from bafenet.utils.checkpoint_loading import (CheckpointError,
                                              checkpoint_safe_globals)
from tests.conftest import REPO_ROOT


def qualified_names():
    names = set()
    for entry in checkpoint_safe_globals():
        if isinstance(entry, tuple):
            names.add(entry[1])
        else:
            names.add(f'{entry.__module__}.{entry.__qualname__}')
    return names


def test_message_hub_state_round_trips():
    hub = MessageHub.get_instance('ckpt-test')
    for i in range(5):
        hub.update_scalar('train/loss', np.float32(i) / 3)
        hub.update_scalar('train/iter_time', float(i))
    hub.update_info('iter', 5)
    hub.update_info('best_score', np.float64(0.25))
    buffer = io.BytesIO()
    torch.save({'message_hub': hub.state_dict()}, buffer)
    buffer.seek(0)
    unsafe = set(torch.serialization.get_unsafe_globals_in_checkpoint(buffer))
    assert unsafe <= qualified_names(), unsafe - qualified_names()
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    scalars = state['message_hub']['log_scalars']
    assert isinstance(scalars['train/loss'], HistoryBuffer)
    assert scalars['train/loss'].current() == pytest.approx(4 / 3)


class Exploit:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_arbitrary_objects_are_still_refused():
    buffer = io.BytesIO()
    torch.save({'state_dict': {}, 'payload': Exploit()}, buffer)
    buffer.seek(0)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(buffer, weights_only=True)


def saved(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


def test_getattr_is_limited_to_history_buffer_methods():
    # pickle writes class functions as getattr(HistoryBuffer, name)
    loaded = torch.load(saved(HistoryBuffer.mean), weights_only=True)
    assert loaded is HistoryBuffer.mean
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        torch.load(saved(HistoryBuffer.__init__), weights_only=True)


def exploit_checkpoint(path, marker):
    """A checkpoint whose unpickling would create ``marker``."""

    class Payload:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    torch.save({'state_dict': {}, 'meta': {}, 'payload': Payload()}, path)


def test_mmengine_loader_refuses_and_names_the_file(tmp_path):
    path, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    exploit_checkpoint(path, marker)
    # load_from, --resume, tools/test.py and init_detector all load here.
    with pytest.raises(CheckpointError, match=f'{path}: refused to load'):
        _load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


@pytest.mark.parametrize('option', ['--resume', 'load_from'])
def test_training_refuses_a_pickled_payload(option, real_root, tmp_path):
    path, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    exploit_checkpoint(path, marker)
    options = (['--resume', path] if option == '--resume' else
               ['--cfg-options', f'load_from={path}'])
    proc = subprocess.run([
        sys.executable, 'tools/train.py',
        REPO_ROOT / 'configs/demo/bafenet-fullcov_r18_fpn_demo_densesirst.py',
        '--data-root', real_root, '--work-dir', tmp_path / 'work',
        *options
    ],
                          cwd=REPO_ROOT,
                          capture_output=True,
                          text=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f'CheckpointError: {path}: refused to load' in output, output[-3000:]
    assert not marker.exists()


def test_a_config_dumped_by_an_earlier_version_loads(tmp_path):
    """Work directories hold configs whose custom_imports name
    ``bafenet.utils.checkpoint``, the module before the split."""
    from mmengine.config import Config
    dumped = tmp_path / 'dumped.py'
    dumped.write_text("custom_imports = dict(imports=['bafenet.utils."
                      "checkpoint'], allow_failed_imports=False)\n")
    assert Config.fromfile(dumped).custom_imports.imports == [
        'bafenet.utils.checkpoint'
    ]
